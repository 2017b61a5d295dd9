package storetest

import (
	"testing"
	"time"

	"github.com/hookd/hookd"
)

// testDeliveryLog checks the logs by delivery: each delivery once, with its
// attempts in order and where it stands, filtered by state, latest attempt
// first; and one delivery with its event.
func testDeliveryLog(t *testing.T, open opener) {
	s := open(t)
	w := createWebhook(t, s, newWebhook("w", assetAdded))
	other := createWebhook(t, s, newWebhook("other", assetRemoved))
	e1, e2, e3 := newEvent(assetAdded, nil, nil), newEvent(assetAdded, nil, nil), newEvent(assetAdded, nil, nil)
	publish(t, s, e1)
	publish(t, s, e2)
	publish(t, s, e3)

	// d1 fails, then succeeds; d2 fails for good; d3 fails and waits for a
	// retry.
	t0 := s.clock.Now()
	ds := claimAll(t, s, t0)
	equal(t, "claimed", len(ds), 3)
	d1, d2, d3 := ds[0], ds[1], ds[2]
	next := t0.Add(time.Minute)
	complete(t, s, retry(d1, t0, t0.Add(time.Second)), result(d2, t0.Add(time.Millisecond), false, 500),
		retry(d3, t0.Add(2*time.Millisecond), next))
	d1 = claimOne(t, s, t0.Add(time.Second))
	complete(t, s, result(d1, t0.Add(time.Second), true, 200))

	log := func(what string, states ...hookd.DeliveryState) []*hookd.DeliveryRecord {
		t.Helper()
		got, err := s.DeliveryLog(ctx(t), w.ID, states, 1, 10)
		must(t, err, what)
		return got
	}
	recIDs := func(rs []*hookd.DeliveryRecord) []int64 {
		return ids(rs, func(r *hookd.DeliveryRecord) int64 { return r.ID })
	}

	all := log("every state", hookd.DeliveryStates...)
	deepEqual(t, "every state, latest attempt first", recIDs(all), []int64{d1.ID, d3.ID, d2.ID})
	r1 := all[0]
	equal(t, "d1 state", r1.State, hookd.StateSucceeded)
	equal(t, "d1 attempts", r1.Attempts, 2)
	equal(t, "d1 event id", r1.EventID, e1.ID)
	equal(t, "d1 event", r1.Event, assetAdded)
	equal(t, "d1 webhook-id", r1.MessageID, d1.MessageID)
	equal(t, "d1 log length", len(r1.Log), 2)
	equal(t, "d1 first attempt", r1.Log[0].Attempt, 1)
	equal(t, "d1 first attempt failed", r1.Log[0].Success, false)
	equal(t, "d1 second attempt succeeded", r1.Log[1].Success, true)
	equalPtr(t, "d1 next attempt", r1.NextAttemptAt, nil)
	sameTimePtr(t, "d1 last attempt", r1.LastAttemptAt, ptr(t0.Add(time.Second)))
	sameTimePtr(t, "d3 next attempt", all[1].NextAttemptAt, &next)
	equal(t, "d3 state", all[1].State, hookd.StatePending)

	deepEqual(t, "succeeded", recIDs(log("succeeded", hookd.StateSucceeded)), []int64{d1.ID})
	deepEqual(t, "failed and pending", recIDs(log("failed and pending", hookd.StateFailed, hookd.StatePending)), []int64{d3.ID, d2.ID})
	page2, err := s.DeliveryLog(ctx(t), w.ID, hookd.DeliveryStates, 2, 2)
	must(t, err, "page 2")
	deepEqual(t, "page 2 of 2", recIDs(page2), []int64{d2.ID})

	// A delivery not yet attempted is in no log.
	publish(t, s, newEvent(assetAdded, nil, nil))
	deepEqual(t, "with a fresh delivery", recIDs(log("every state", hookd.DeliveryStates...)), []int64{d1.ID, d3.ID, d2.ID})

	got, ev, err := s.Delivery(ctx(t), w.ID, d2.ID)
	must(t, err, "Delivery")
	equal(t, "Delivery state", got.State, hookd.StateFailed)
	equal(t, "Delivery log", len(got.Log), 1)
	equal(t, "Delivery log's status", got.Log[0].HTTPStatus, 500)
	equal(t, "Delivery event id", ev.ID, e2.ID)
	sameJSON(t, "Delivery event data", ev.Data, e2.Data)

	_, _, err = s.Delivery(ctx(t), other.ID, d2.ID)
	mustErr(t, err, hookd.ErrNotFound, "Delivery of another webhook")
	_, err = s.DeliveryLog(ctx(t), 1<<40, hookd.DeliveryStates, 1, 10)
	mustErr(t, err, hookd.ErrNotFound, "DeliveryLog of an unknown webhook")
}

// testAttemptCounts checks the counts per minute, of a webhook and of all.
func testAttemptCounts(t *testing.T, open opener) {
	s := open(t)
	a := createWebhook(t, s, newWebhook("a", assetAdded))
	b := createWebhook(t, s, newWebhook("b", assetAdded))
	minute := s.clock.Now().Truncate(time.Minute)
	publish(t, s, newEvent(assetAdded, nil, nil), newEvent(assetAdded, nil, nil))
	ds := claimAll(t, s, s.clock.Now())
	equal(t, "claimed", len(ds), 4)
	// Each webhook: one success in the first minute, one failure in the
	// second.
	var results []hookd.AttemptResult
	seen := map[int64]bool{}
	for _, d := range ds {
		if !seen[d.WebhookID] {
			seen[d.WebhookID] = true
			results = append(results, result(d, minute.Add(10*time.Second), true, 200))
		} else {
			results = append(results, result(d, minute.Add(70*time.Second), false, 500))
		}
	}
	complete(t, s, results...)

	// Contract: a range includes its start and excludes its end; ranges
	// may overlap, and each is counted whole.
	first := hookd.TimeRange{From: minute, To: minute.Add(time.Minute)}
	second := hookd.TimeRange{From: minute.Add(time.Minute), To: minute.Add(2 * time.Minute)}
	both := hookd.TimeRange{From: minute.Add(-time.Hour), To: minute.Add(time.Hour)}
	empty := hookd.TimeRange{From: minute.Add(time.Hour), To: minute.Add(2 * time.Hour)}
	ranges := []hookd.TimeRange{first, second, both, empty}
	counts, err := s.AttemptCounts(ctx(t), 0, ranges)
	must(t, err, "AttemptCounts of all")
	deepEqual(t, "AttemptCounts of all", counts, []hookd.AttemptCount{{Succeeded: 2}, {Failed: 2}, {Succeeded: 2, Failed: 2}, {}})
	counts, err = s.AttemptCounts(ctx(t), a.ID, ranges)
	must(t, err, "AttemptCounts of a")
	deepEqual(t, "a's counts", counts, []hookd.AttemptCount{{Succeeded: 1}, {Failed: 1}, {Succeeded: 1, Failed: 1}, {}})
	edge := hookd.TimeRange{From: minute.Add(10 * time.Second), To: minute.Add(70 * time.Second)}
	counts, err = s.AttemptCounts(ctx(t), b.ID, []hookd.TimeRange{edge})
	must(t, err, "AttemptCounts of b at the edges")
	deepEqual(t, "b's counts at the edges", counts, []hookd.AttemptCount{{Succeeded: 1}})
	_, err = s.AttemptCounts(ctx(t), 1<<40, ranges)
	mustErr(t, err, hookd.ErrNotFound, "AttemptCounts of an unknown webhook")
}
