package storetest

import (
	"testing"
	"time"

	"github.com/hookd/hookd"
)

// testTargetsVersion checks hookd.Claimed.TargetsVersion, which lets the
// dispatcher keep targets in memory: every change to what Store.Targets
// returns raises it, and recording attempts does not. And
// hookd.Target.SecretsUntil, when the secrets change with no write.
func testTargetsVersion(t *testing.T, open opener) {
	// claimVersion queues a delivery to probe, so that a claim at now has
	// one to take, and returns the TargetsVersion of a claim of all that
	// is due, with what it claimed.
	claimVersion := func(t *testing.T, s *testStore, now time.Time, probe int64, what string) (int64, []*hookd.Delivery) {
		t.Helper()
		s.clock.Set(now)
		must(t, s.PublishTo(ctx(t), probe, newEvent(userAdded, nil, nil)), what+": PublishTo")
		c, err := s.Claim(ctx(t), hookd.ClaimRequest{Worker: "suite", Limit: 100, Lease: lease, Workers: Workers})
		must(t, err, what+": Claim")
		if len(c.Deliveries) == 0 {
			t.Fatalf("%s: claimed nothing", what)
		}
		return c.TargetsVersion, c.Deliveries
	}

	t.Run("moves with every change to the targets", func(t *testing.T) {
		s := open(t)
		w := createWebhook(t, s, newWebhook("w", assetAdded))
		probe := createWebhook(t, s, newWebhook("probe", userAdded))
		doomed := createWebhook(t, s, newWebhook("doomed", assetRemoved))
		now := s.clock.Now()
		version, claimed := claimVersion(t, s, now, probe.ID, "first claim")
		// next claims again, and checks whether the version moved since
		// the claim before.
		next := func(what string, moves bool) []*hookd.Delivery {
			t.Helper()
			v, ds := claimVersion(t, s, now, probe.ID, what)
			switch {
			case moves && v <= version:
				t.Errorf("TargetsVersion after %s = %d, want more than %d", what, v, version)
			case !moves && v != version:
				t.Errorf("TargetsVersion after %s = %d, want %d still", what, v, version)
			}
			version = v
			return ds
		}

		for _, d := range claimed {
			complete(t, s, result(d, now, true, 200))
		}
		claimed = next("a success recorded", false)
		for _, d := range claimed {
			complete(t, s, retry(d, now, now.Add(time.Hour)))
		}
		next("a failure recorded", false)

		h := &hookd.Header{WebhookID: w.ID, Key: "X-Plain", Value: "v1"}
		for _, c := range []struct {
			what   string
			change func() error
		}{
			{"a new URL", func() error {
				_, err := s.UpdateWebhook(ctx(t), w.ID, hookd.WebhookUpdate{HTTPURL: ptr("https://receiver.example/moved")})
				return err
			}},
			{"a new method", func() error {
				_, err := s.UpdateWebhook(ctx(t), w.ID, hookd.WebhookUpdate{HTTPMethod: ptr("PUT")})
				return err
			}},
			{"a header added", func() error { return s.AddHeader(ctx(t), h) }},
			{"a header updated", func() error {
				_, err := s.UpdateHeader(ctx(t), w.ID, h.ID, hookd.HeaderUpdate{Value: ptr("v2")})
				return err
			}},
			{"a header deleted", func() error { return s.DeleteHeader(ctx(t), w.ID, h.ID) }},
			{"a secret rotated", func() error { return s.RotateSecret(ctx(t), w.ID, "whsec_new", now.Add(time.Hour)) }},
			{"disabling", func() error {
				_, err := s.UpdateWebhook(ctx(t), w.ID, hookd.WebhookUpdate{Disabled: ptr(true)})
				return err
			}},
			{"enabling", func() error {
				_, err := s.UpdateWebhook(ctx(t), w.ID, hookd.WebhookUpdate{Disabled: ptr(false)})
				return err
			}},
			{"another webhook deleted", func() error { return s.DeleteWebhook(ctx(t), doomed.ID) }},
		} {
			must(t, c.change(), c.what)
			next(c.what, true)
		}

		// A recorded 410 disables the webhook: a change of its target too.
		must(t, s.PublishTo(ctx(t), w.ID, newEvent(assetAdded, nil, nil)), "PublishTo")
		for _, d := range next("a delivery queued", false) {
			r := result(d, now, false, 410)
			r.DisableWebhook = d.WebhookID == w.ID
			complete(t, s, r)
		}
		equal(t, "disabled by a 410", getWebhook(t, s, w.ID).Disabled, true)
		next("a 410 recorded", true)
	})

	t.Run("SecretsUntil", func(t *testing.T) {
		s := open(t)
		w := newWebhook("w", assetAdded)
		must(t, s.CreateWebhook(ctx(t), w, "whsec_old"), "CreateWebhook")
		now := s.clock.Now()
		secretsUntil := func(when time.Time) time.Time {
			t.Helper()
			got, err := s.targetsAt(when, []int64{w.ID})
			must(t, err, "Targets")
			return got[w.ID].SecretsUntil
		}
		if got := secretsUntil(now); !got.IsZero() {
			t.Errorf("SecretsUntil without a rotation = %v, want zero", got)
		}
		end := now.Add(time.Hour)
		must(t, s.RotateSecret(ctx(t), w.ID, "whsec_new", end), "RotateSecret")
		sameTime(t, "SecretsUntil during the rotation", secretsUntil(now), end)
		sameTime(t, "SecretsUntil just before the end", secretsUntil(end.Add(-time.Millisecond)), end)
		if got := secretsUntil(end); !got.IsZero() {
			t.Errorf("SecretsUntil once the rotated secret ended = %v, want zero", got)
		}

		// The rotated secret ends with no write: the version stays, which
		// is why a target tells when its secrets change.
		before, _ := claimVersion(t, s, end.Add(-time.Millisecond), w.ID, "during the rotation")
		after, _ := claimVersion(t, s, end, w.ID, "once the rotated secret ended")
		equal(t, "TargetsVersion once the rotated secret ended", after, before)
	})
}
