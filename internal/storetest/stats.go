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
	must(t, s.UpdateSettings(ctx(t), w.ID, hookd.WebhookSettings{MaxPerSecond: 0.01}.Update()), "UpdateSettings")
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

// testExpiredLease checks that a delivery counts as in flight only while
// its lease lasts. One claimed and then not attempted (its webhook was
// disabled meanwhile, internal/delivery leaves it to its lease) or whose
// worker died keeps its lease after it ended: from then on it waits again,
// in the queue or, once attempted, for a retry, and its delivery log shows
// when it is due (its lease's end).
func testExpiredLease(t *testing.T, open opener) {
	s := open(t)
	w := createWebhook(t, s, newWebhook("w", assetAdded))
	fresh := createWebhook(t, s, newWebhook("fresh", assetRemoved))
	publish(t, s, newEvent(assetAdded, nil, nil))

	// w's delivery fails once and waits a minute for its retry. Then the
	// retry and fresh's first attempt are claimed, and their worker dies.
	t0 := s.clock.Now()
	d := claimOne(t, s, t0)
	complete(t, s, retry(d, t0, t0.Add(time.Minute)))
	publish(t, s, newEvent(assetRemoved, nil, nil))
	t1 := t0.Add(time.Minute)
	ds := claimAll(t, s, t1)
	equal(t, "claimed", len(ds), 2)
	d, f := ds[0], ds[1]
	if d.WebhookID != w.ID {
		d, f = f, d
	}
	for _, id := range []int64{w.ID, fresh.ID} {
		_, err := s.UpdateWebhook(ctx(t), id, hookd.WebhookUpdate{Disabled: ptr(true)})
		must(t, err, "disable")
	}

	check := func(what string, inFlight bool, wQueue, wRetry, freshQueue int, next *time.Time) {
		t.Helper()
		figures(t, s, w.ID, wQueue, wRetry)
		figures(t, s, fresh.ID, freshQueue, 0)
		ws, err := s.ListWebhooks(ctx(t), hookd.WebhookFilter{})
		must(t, err, what+": ListWebhooks")
		for _, lw := range ws {
			if lw.ID == w.ID && (lw.QueueLength != wQueue || lw.RetryQueueLength != wRetry) {
				t.Errorf("%s: listed webhook %d: queue_length %d, retry_queue_length %d; want %d, %d",
					what, w.ID, lw.QueueLength, lw.RetryQueueLength, wQueue, wRetry)
			}
		}
		stats, err := s.QueueStats(ctx(t))
		must(t, err, what+": QueueStats")
		equal(t, what+": QueueStats.Queued", stats.Queued, wQueue+freshQueue)
		equal(t, what+": QueueStats.Retrying", stats.Retrying, wRetry)

		log, err := s.DeliveryLog(ctx(t), w.ID, []hookd.DeliveryState{hookd.StatePending}, 1, 10)
		must(t, err, what+": DeliveryLog")
		equal(t, what+": delivery log length", len(log), 1)
		equal(t, what+": attempts", log[0].Attempts, 1)
		sameTimePtr(t, what+": delivery log's next attempt", log[0].NextAttemptAt, next)
		rec, _, err := s.Delivery(ctx(t), w.ID, d.ID)
		must(t, err, what+": Delivery")
		sameTimePtr(t, what+": delivery's next attempt", rec.NextAttemptAt, next)
		frec, _, err := s.Delivery(ctx(t), fresh.ID, f.ID)
		must(t, err, what+": Delivery of fresh")
		if inFlight {
			equalPtr(t, what+": fresh's next attempt", frec.NextAttemptAt, nil)
		} else {
			sameTimePtr(t, what+": fresh's next attempt", frec.NextAttemptAt, ptr(t1.Add(lease)))
		}
	}
	// While the leases last, both are in flight: the queue, no next attempt.
	s.clock.Set(t1.Add(lease / 2))
	check("lease running", true, 1, 0, 1, nil)
	// Contract: a lease that ended is no longer in flight, even while the
	// delivery stays leased.
	s.clock.Set(t1.Add(lease))
	check("lease just ended", false, 0, 1, 1, ptr(t1.Add(lease)))
	s.clock.Set(t0.Add(24 * time.Hour))
	check("a day later", false, 0, 1, 1, ptr(t1.Add(lease)))
}
