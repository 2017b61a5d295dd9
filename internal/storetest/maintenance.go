package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

func testPrune(t *testing.T, open opener) {
	s := open(t)
	w := createWebhook(t, s, newWebhook("w", assetAdded))
	now := s.clock.Now()
	old := now.Add(-48 * time.Hour)
	before := now.Add(-24 * time.Hour)
	ev := func(id, name string, created time.Time) *hookd.Event {
		return &hookd.Event{ID: id, Event: name, Data: json.RawMessage(`{"id": "` + id + `"}`), CreatedAt: created}
	}
	res := publish(t, s,
		ev("done-old", assetAdded, old),     // delivered long ago: event, delivery, attempt go
		ev("failed-old", assetAdded, old),   // failed for good long ago: the same
		ev("pending-old", assetAdded, old),  // never completed: kept, however old
		ev("retrying-old", assetAdded, old), // a retry is pending: only its old attempt goes
		ev("recent-done", assetAdded, old),  // delivered recently: kept
		ev("fresh", assetAdded, now),        // kept
		ev("unmatched-old", userAdded, old), // created no delivery: goes
	)
	published := map[string]hookd.Event{}
	for _, r := range res {
		published[r.Event.ID] = r.Event
	}
	ds := claimAll(t, s, s.clock.Now())
	byEvent := map[string]*hookd.Delivery{}
	for _, d := range ds {
		byEvent[d.Event.ID] = d
	}
	if len(byEvent) != 6 {
		t.Fatalf("claimed deliveries of %d events, want 6", len(byEvent))
	}
	complete(t, s,
		result(byEvent["done-old"], old.Add(time.Hour), true, 200),
		result(byEvent["failed-old"], old.Add(time.Hour), false, 500),
		retry(byEvent["retrying-old"], old.Add(time.Hour), old.Add(2*time.Hour)),
		result(byEvent["recent-done"], now.Add(-time.Hour), true, 200),
		result(byEvent["fresh"], now, true, 200),
	)

	n, err := s.Prune(ctx(t), before)
	must(t, err, "Prune")
	// done-old and failed-old: 3 rows each; retrying-old's attempt; the
	// unmatched event.
	equal(t, "pruned rows", n, int64(8))

	log := logOf(t, s, w.ID, true)
	var logged []string
	for _, e := range log {
		logged = append(logged, e.EventID)
	}
	deepEqual(t, "success log after prune", logged, []string{"fresh", "recent-done"})
	equal(t, "failed log after prune", len(logOf(t, s, w.ID, false)), 0)

	// The pending deliveries and their events survive whole.
	left := claimAll(t, s, now.Add(2*lease))
	got := map[string]bool{}
	for _, d := range left {
		got[d.Event.ID] = true
		checkEvent(t, "surviving event "+d.Event.ID, d.Event, published[d.Event.ID])
	}
	deepEqual(t, "pending after prune", got, map[string]bool{"pending-old": true, "retrying-old": true})

	// A pruned event's id is free again; a kept one is still a repeat.
	for id, dup := range map[string]bool{
		"done-old": false, "failed-old": false, "unmatched-old": false,
		"pending-old": true, "recent-done": true, "fresh": true,
	} {
		r := publish(t, s, &hookd.Event{ID: id, Event: userAdded, Data: json.RawMessage(`{}`)})
		equal(t, id+" is a repeat after prune", r[0].Duplicate, dup)
	}

	n, err = s.Prune(ctx(t), before)
	must(t, err, "Prune again")
	equal(t, "pruned rows the second time", n, int64(0))
}

func testDisableFailing(t *testing.T, open opener) {
	s := open(t)
	failing := createWebhook(t, s, newWebhook("failing", assetAdded))
	recovered := createWebhook(t, s, newWebhook("recovered", assetAdded))
	recent := createWebhook(t, s, newWebhook("recent", assetAdded))
	late := createWebhook(t, s, newWebhook("late", assetAdded))
	idle := createWebhook(t, s, newWebhook("idle", userAdded))
	publish(t, s, newEvent(assetAdded, nil, nil), newEvent(assetAdded, nil, nil), newEvent(assetAdded, nil, nil))
	now := s.clock.Now()
	byHook := map[int64][]*hookd.Delivery{}
	for _, d := range claimAll(t, s, now) {
		byHook[d.WebhookID] = append(byHook[d.WebhookID], d)
	}
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	f, r, c, l := byHook[failing.ID], byHook[recovered.ID], byHook[recent.ID], byHook[late.ID]
	complete(t, s,
		// failing: a success, then only failures since 3h ago.
		result(f[0], ago(5*time.Hour), true, 200),
		retry(f[1], ago(3*time.Hour), now.Add(time.Hour)),
		result(f[2], ago(2*time.Hour), false, 500),
		// recovered: a failure, then a success.
		result(r[0], ago(3*time.Hour), false, 500),
		result(r[1], ago(2*time.Hour), true, 200),
		// recent: failing, but only for 30 minutes.
		result(c[0], ago(30*time.Minute), false, 500),
		// late: a success 2h ago, recorded before an older failure.
		result(l[1], ago(2*time.Hour), true, 200),
	)
	// Workers finish out of order: the failure recorded last happened
	// first, and the later success still ended its streak.
	complete(t, s, result(l[0], ago(3*time.Hour), false, 500))

	// Contract: a webhook is failing since the first failed attempt after
	// its latest success; DisableFailing(before) disables those failing
	// since before or earlier.
	before := ago(time.Hour)
	disabled, err := s.DisableFailing(ctx(t), before)
	must(t, err, "DisableFailing")
	deepEqual(t, "disabled", disabled, []int64{failing.ID})
	for _, w := range []*hookd.Webhook{failing, recovered, recent, late, idle} {
		equal(t, w.Name+" Disabled", getWebhook(t, s, w.ID).Disabled, w == failing)
	}

	disabled, err = s.DisableFailing(ctx(t), before)
	must(t, err, "DisableFailing again")
	equal(t, "disabled again", len(disabled), 0)

	// Contract: an admin re-enabling a webhook gives it a fresh start;
	// its old failures do not disable it again.
	_, err = s.UpdateWebhook(ctx(t), failing.ID, hookd.WebhookUpdate{Disabled: ptr(false)})
	must(t, err, "UpdateWebhook enable")
	disabled, err = s.DisableFailing(ctx(t), before)
	must(t, err, "DisableFailing after re-enabling")
	equal(t, "disabled after re-enabling", len(disabled), 0)
	equal(t, "re-enabled webhook Disabled", getWebhook(t, s, failing.ID).Disabled, false)

	// With a later threshold, the recent failures count too.
	disabled, err = s.DisableFailing(ctx(t), now)
	must(t, err, "DisableFailing(now)")
	deepEqual(t, "disabled with before=now", disabled, []int64{recent.ID})
}

func testWakeup(t *testing.T, open opener) {
	s := open(t)
	w := createWebhook(t, s, newWebhook("w", assetAdded))

	drainWakeup(s)
	publish(t, s, newEvent(assetAdded, nil, nil))
	awaitWakeup(t, s, "PublishEvents")

	drainWakeup(s)
	must(t, s.PublishTo(ctx(t), w.ID, newEvent(userAdded, nil, nil)), "PublishTo")
	awaitWakeup(t, s, "PublishTo")

	now := s.clock.Now()
	ds := claimAll(t, s, now)
	if len(ds) != 2 {
		t.Fatalf("claimed %d, want 2", len(ds))
	}
	complete(t, s, result(ds[0], now, false, 500))
	drainWakeup(s)
	n, err := s.requeueAt(now, w.ID, now, now.Add(time.Millisecond))
	must(t, err, "Requeue")
	equal(t, "requeued", n, 1)
	awaitWakeup(t, s, "Requeue")
}

func testClose(t *testing.T, open opener) {
	s := open(t)
	must(t, s.Ping(ctx(t)), "Ping")
	must(t, s.CheckWrite(ctx(t)), "CheckWrite")
	must(t, s.CheckWrite(ctx(t)), "CheckWrite again")
	must(t, s.Close(), "Close")
	// Contract: a closed store answers ErrUnavailable (the API says 503,
	// /readyz fails), never a panic or a driver's own error.
	mustErr(t, s.Ping(ctx(t)), hookd.ErrUnavailable, "Ping after Close")
	mustErr(t, s.CheckWrite(ctx(t)), hookd.ErrUnavailable, "CheckWrite after Close")
	_, err := s.Webhook(ctx(t), 1)
	mustErr(t, err, hookd.ErrUnavailable, "Webhook after Close")
	_, err = s.PublishEvents(ctx(t), []*hookd.Event{newEvent(assetAdded, nil, nil)})
	mustErr(t, err, hookd.ErrUnavailable, "PublishEvents after Close")
}
