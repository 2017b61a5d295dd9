package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

// The cases where the two stores once disagreed: each rule now lives in
// package hookd, and these tests fail if a store stops following it.

func testRules(t *testing.T, open opener) {
	t.Run("SecretValidityBoundary", func(t *testing.T) {
		s := open(t)
		w := newWebhook("w", assetAdded)
		must(t, s.CreateWebhook(ctx(t), w, "whsec_old"), "CreateWebhook")
		until := s.clock.Now().Add(time.Hour)
		must(t, s.RotateSecret(ctx(t), w.ID, "whsec_new", until), "RotateSecret")
		// Contract: a rotated secret signs up to, not including, its end.
		for _, c := range []struct {
			at   time.Time
			want []string
		}{
			{until.Add(-time.Millisecond), []string{"whsec_new", "whsec_old"}},
			{until, []string{"whsec_new"}},
		} {
			got, err := s.secretsAt(c.at, w.ID)
			must(t, err, "Secrets")
			deepEqual(t, "Secrets at "+c.at.Format(hookd.TimeLayout), got, c.want)
			targets, err := s.targetsAt(c.at, []int64{w.ID})
			must(t, err, "Targets")
			deepEqual(t, "target Secrets at "+c.at.Format(hookd.TimeLayout), targets[w.ID].Secrets, c.want)
		}
	})

	// Contract: the health Complete records does not depend on the order
	// in which results arrive, in one batch or over several.
	t.Run("HealthInAnyOrder", func(t *testing.T) {
		s := open(t)
		a := createWebhook(t, s, newWebhook("a", assetAdded))
		b := createWebhook(t, s, newWebhook("b", assetAdded))
		publish(t, s, newEvent(assetAdded, nil, nil), newEvent(assetAdded, nil, nil), newEvent(assetAdded, nil, nil))
		now := s.clock.Now()
		byHook := map[int64][]*hookd.Delivery{}
		for _, d := range claimAll(t, s, now) {
			byHook[d.WebhookID] = append(byHook[d.WebhookID], d)
		}
		results := func(ds []*hookd.Delivery) []hookd.AttemptResult {
			return []hookd.AttemptResult{
				result(ds[0], now.Add(time.Second), true, 200),
				result(ds[1], now.Add(3*time.Second), false, 500),
				result(ds[2], now.Add(2*time.Second), false, 502),
			}
		}
		ra, rb := results(byHook[a.ID]), results(byHook[b.ID])
		complete(t, s, ra...)
		complete(t, s, rb[2])
		complete(t, s, rb[1], rb[0])
		for _, w := range []*hookd.Webhook{a, b} {
			got := getWebhook(t, s, w.ID)
			if got.LatestRun == nil {
				t.Fatalf("%s: no LatestRun", w.Name)
			}
			sameTime(t, w.Name+" LatestRun.At", got.LatestRun.At, now.Add(3*time.Second))
			equal(t, w.Name+" LatestRun.HTTPStatus", got.LatestRun.HTTPStatus, 500)
		}
		// Both have failed since now+2s, after their success at now+1s.
		disabled, err := s.DisableFailing(ctx(t), now.Add(2*time.Second-time.Millisecond))
		must(t, err, "DisableFailing before the streak")
		equal(t, "disabled before the streak", len(disabled), 0)
		disabled, err = s.DisableFailing(ctx(t), now.Add(2*time.Second))
		must(t, err, "DisableFailing at the streak's start")
		deepEqual(t, "disabled at the streak's start", disabled, []int64{a.ID, b.ID})
	})

	// Contract: the attempts of one batch are recorded in the order they
	// were made: a failure, a later success and a later still failure
	// leave the webhook failing since the last one.
	t.Run("HealthOfOneBatchInTimeOrder", func(t *testing.T) {
		s := open(t)
		w := createWebhook(t, s, newWebhook("w", assetAdded))
		publish(t, s, newEvent(assetAdded, nil, nil), newEvent(assetAdded, nil, nil), newEvent(assetAdded, nil, nil))
		now := s.clock.Now()
		ds := claimAll(t, s, now)
		equal(t, "claimed", len(ds), 3)
		complete(t, s,
			result(ds[0], now.Add(time.Second), false, 500),
			result(ds[1], now.Add(3*time.Second), false, 503),
			result(ds[2], now.Add(2*time.Second), true, 200))
		disabled, err := s.DisableFailing(ctx(t), now.Add(3*time.Second-time.Millisecond))
		must(t, err, "DisableFailing before the last failure")
		equal(t, "disabled before the last failure", len(disabled), 0)
		disabled, err = s.DisableFailing(ctx(t), now.Add(3*time.Second))
		must(t, err, "DisableFailing at the last failure")
		deepEqual(t, "disabled at the last failure", disabled, []int64{w.ID})
	})

	// Contract: disabling a webhook, in any of the three ways, sets its
	// idle pending deliveries aside; a delivery in flight keeps its lease.
	// Enabling it makes them due at once.
	for _, how := range []string{"API", "410", "DisableFailing"} {
		t.Run("Parking/"+how, func(t *testing.T) {
			s := open(t)
			w := createWebhook(t, s, newWebhook("w", assetAdded))
			publish(t, s, newEvent(assetAdded, nil, nil), newEvent(assetAdded, nil, nil))
			now := s.clock.Now()
			ds := claimAll(t, s, now)
			equal(t, "claimed", len(ds), 2)
			retryAt := now.Add(10 * time.Minute)
			complete(t, s, retry(ds[0], now, retryAt))
			switch how {
			case "API":
				_, err := s.UpdateWebhook(ctx(t), w.ID, hookd.WebhookUpdate{Disabled: ptr(true)})
				must(t, err, "UpdateWebhook disable")
			case "410":
				gone := result(ds[1], now, false, 410)
				gone.DisableWebhook = true
				complete(t, s, gone)
			case "DisableFailing":
				disabled, err := s.DisableFailing(ctx(t), now)
				must(t, err, "DisableFailing")
				deepEqual(t, "disabled", disabled, []int64{w.ID})
			}
			equal(t, "Disabled", getWebhook(t, s, w.ID).Disabled, true)
			equal(t, "claimed while disabled, after the retry time", len(claimAll(t, s, retryAt.Add(time.Hour))), 0)

			enableAt := now.Add(lease / 2)
			s.clock.Set(enableAt)
			_, err := s.UpdateWebhook(ctx(t), w.ID, hookd.WebhookUpdate{Disabled: ptr(false)})
			must(t, err, "UpdateWebhook enable")
			got := claimAll(t, s, enableAt)
			ids := deliveryIDs(got)
			if len(ids) == 0 || ids[0] != ds[0].ID {
				t.Fatalf("claimed %v after enabling at %v, want the parked retry %d due at once", ids, enableAt, ds[0].ID)
			}
			if how != "410" {
				// ds[1] is still leased to the suite (until now+lease):
				// enabling left its lease alone.
				equal(t, "claimed after enabling", len(got), 1)
			}
		})
	}

	t.Run("ProjectRegistry", func(t *testing.T) {
		s := open(t)
		p := "proj_registry"
		added := &hookd.Event{ID: "added", Event: hookd.EventProjectAdded, ProjectID: &p, Data: json.RawMessage(`{"title": "First"}`)}
		publish(t, s, added)
		got, err := s.Project(ctx(t), p)
		must(t, err, "Project after PROJECT_ADDED")
		equal(t, "Title", got.Title, "First")
		sameTime(t, "CreatedAt", got.CreatedAt, s.clock.Now())

		// A second PROJECT_ADDED keeps the title; a repeat of a stored
		// PROJECT_PURGED does nothing again.
		s.clock.Advance(time.Second)
		publish(t, s, &hookd.Event{Event: hookd.EventProjectAdded, ProjectID: &p, Data: json.RawMessage(`{"title": "Second"}`)})
		got, err = s.Project(ctx(t), p)
		must(t, err, "Project after a second PROJECT_ADDED")
		equal(t, "Title after a second PROJECT_ADDED", got.Title, "First")

		purged := &hookd.Event{ID: "purged", Event: hookd.EventProjectPurged, ProjectID: &p, Data: json.RawMessage(`{}`)}
		publish(t, s, purged)
		_, err = s.Project(ctx(t), p)
		mustErr(t, err, hookd.ErrNotFound, "Project after PROJECT_PURGED")
		publish(t, s, &hookd.Event{ID: "added", Event: hookd.EventProjectAdded, ProjectID: &p, Data: json.RawMessage(`{"title": "First"}`)})
		_, err = s.Project(ctx(t), p)
		mustErr(t, err, hookd.ErrNotFound, "Project after a repeated PROJECT_ADDED id")
	})

	// Contract: a webhook receives an event by hookd.Webhook.Matches only:
	// its name among the webhook's events (not a prefix, not another case).
	t.Run("Matching", func(t *testing.T) {
		s := open(t)
		exact := createWebhook(t, s, newWebhook("exact", "ASSET_ADDED", "USER_ADDED"))
		createWebhook(t, s, newWebhook("prefix", "ASSET"))
		createWebhook(t, s, newWebhook("case", "asset_added"))
		createWebhook(t, s, newWebhook("none"))
		res := publish(t, s, newEvent("ASSET_ADDED", nil, nil))
		equal(t, "deliveries", res[0].Deliveries, 1)
		ds := claimAll(t, s, s.clock.Now())
		if len(ds) != 1 || ds[0].WebhookID != exact.ID {
			t.Fatalf("claimed %d deliveries, want one to %q", len(ds), exact.Name)
		}
	})
}
