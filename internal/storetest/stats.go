package storetest

import (
	"testing"
	"time"

	"github.com/hookd/hookd"
)

// testQueueStats checks the whole database's queue figures, read in one
// query, against what happened to the deliveries and against the sums of
// the webhooks' own figures.
func testQueueStats(t *testing.T, open opener) {
	s := open(t)
	stats, err := s.QueueStats(ctx(t))
	must(t, err, "QueueStats")
	equal(t, "QueueStats of an empty store", stats, hookd.QueueStats{})

	createWebhook(t, s, newWebhook("a", assetAdded))
	createWebhook(t, s, newWebhook("b", assetAdded))
	off := createWebhook(t, s, newWebhook("off", assetAdded))
	createWebhook(t, s, newWebhook("other", assetRemoved))
	publish(t, s, newEvent(assetAdded, nil, nil), newEvent(assetAdded, nil, nil))
	_, err = s.UpdateWebhook(ctx(t), off.ID, hookd.WebhookUpdate{Disabled: ptr(true)})
	must(t, err, "disable off")

	// a's and b's four deliveries are claimed (off's two wait while it is
	// disabled); one succeeds, one fails and waits for a retry, two stay in
	// flight.
	now := s.clock.Now()
	ds := claimAll(t, s, now)
	equal(t, "claimed", len(ds), 4)
	complete(t, s, result(ds[0], now, true, 200), retry(ds[1], now, now.Add(time.Hour)))

	stats, err = s.QueueStats(ctx(t))
	must(t, err, "QueueStats")
	equal(t, "QueueStats", stats, hookd.QueueStats{Queued: 4, Retrying: 1, EnabledWebhooks: 3, DisabledWebhooks: 1, FailingWebhooks: 1})

	ws, err := s.ListWebhooks(ctx(t), hookd.WebhookFilter{})
	must(t, err, "ListWebhooks")
	var sums hookd.QueueStats
	for _, w := range ws {
		sums.Queued += w.QueueLength
		sums.Retrying += w.RetryQueueLength
		switch {
		case w.Disabled:
			sums.DisabledWebhooks++
		case w.LatestRun != nil && !w.LatestRun.Success:
			sums.FailingWebhooks++
			sums.EnabledWebhooks++
		default:
			sums.EnabledWebhooks++
		}
	}
	equal(t, "QueueStats against the webhooks' figures", stats, sums)
}

// testThrottledStats checks that a webhook counts as throttled while its
// throttle holds back a due delivery, and only then.
func testThrottledStats(t *testing.T, open opener) {
	s := open(t)
	w := createWebhook(t, s, newWebhook("slow", assetAdded))
	must(t, s.UpdateSettings(ctx(t), w.ID, hookd.WebhookSettings{MaxPerSecond: 0.01}), "UpdateSettings")
	throttled := func(what string, want int) {
		t.Helper()
		stats, err := s.QueueStats(ctx(t))
		must(t, err, "QueueStats")
		equal(t, what, stats.ThrottledWebhooks, want)
	}
	publish(t, s, newEvent(assetAdded, nil, nil))
	now := s.clock.Now()
	d := claimOne(t, s, now)
	throttled("one attempt out, nothing waits", 0)
	complete(t, s, result(d, now, true, 200))
	publish(t, s, newEvent(assetAdded, nil, nil))
	throttled("a due delivery held back", 1)
	s.clock.Advance(100 * time.Second)
	throttled("once the throttle lets it go", 0)
}
