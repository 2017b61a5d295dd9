package storetest

import (
	"cmp"
	"slices"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

// FanOutChunk is the chunk that FanOut's stores must be opened with
// (storeopt.WithFanOutChunk): small, so the test needs few webhooks.
const FanOutChunk = 10

// FanOut checks that no transaction creates more than a chunk of
// deliveries: a publish leaves the deliveries of events beyond it to
// Store.FanOut (hookd.PlanFanOut), which creates them a chunk a call, in
// the order the events were accepted, once each. a and b are two stores on
// one database (two processes), opened with FanOutChunk; the fan-out a
// publish leaves is taken up by either.
func FanOut(t *testing.T, a, b hookd.Store) {
	queued := func() int {
		t.Helper()
		st, err := a.QueueStats(ctx(t))
		must(t, err, "QueueStats")
		return st.Queued
	}
	wide := make([]*hookd.Webhook, 25)
	for i := range wide {
		wide[i] = createWebhook(t, a, newWebhook("wide", assetAdded))
	}
	narrow := createWebhook(t, a, newWebhook("narrow", assetRemoved))
	// One of them wants its events in order: FanOut's deliveries join its
	// lane as a publish's do.
	ordered := wide[len(wide)-1]
	must(t, a.UpdateSettings(ctx(t), ordered.ID, hookd.WebhookSettings{Ordering: hookd.OrderWebhook}.Update()), "UpdateSettings ordering")
	// Another filters on the payload: FanOut matches with the filters too.
	filtered := wide[0]
	must(t, a.UpdateSettings(ctx(t), filtered.ID, hookd.WebhookSettings{Filter: `data.n > 2.0`}.Update()), "UpdateSettings filter")

	// Within the chunk, a publish creates its deliveries itself.
	res := publish(t, a, newEvent(assetRemoved, nil, nil), newEvent(assetRemoved, nil, nil))
	equal(t, "small publish: deliveries", res[0].Deliveries+res[1].Deliveries, 2)
	equal(t, "small publish: queued at once", queued(), 2)
	more, err := b.FanOut(ctx(t))
	must(t, err, "FanOut with nothing left to it")
	equal(t, "FanOut with nothing left to it: remaining", more, false)

	// 25 matches are beyond the chunk: the event is accepted, answered with
	// the deliveries it will have, and none is created yet; while it waits,
	// later events wait behind it, even small ones.
	first, second, small := newEvent(assetAdded, nil, nil), newEvent(assetAdded, nil, nil), newEvent(assetRemoved, nil, nil)
	second.Data = []byte(`{"n": 3}`) // the filtered webhook's only event
	woken := func() bool {
		select {
		case <-a.FanOutWakeup():
			return true
		default:
			return false
		}
	}
	equal(t, "FanOutWakeup after publishes within the chunk", woken(), false)
	res = publish(t, a, first)
	equal(t, "wide event: deliveries", res[0].Deliveries, 24)
	equal(t, "FanOutWakeup after a publish left deliveries to FanOut", woken(), true)
	res = publish(t, a, second, small)
	equal(t, "behind it: deliveries", res[0].Deliveries+res[1].Deliveries, 26)
	equal(t, "nothing created by the publishes", queued(), 2)
	later := newEvent(assetRemoved, nil, nil)
	res = publish(t, a, later)
	equal(t, "a small event alone behind it: deliveries", res[0].Deliveries, 1)
	equal(t, "a small event alone behind it: nothing created", queued(), 2)
	again := publish(t, a, &hookd.Event{ID: first.ID, Event: first.Event, Data: first.Data})
	equal(t, "repeat: duplicate", again[0].Duplicate, true)
	equal(t, "repeat: deliveries", again[0].Deliveries, 24)

	// The history's upkeep keeps the events waiting for their fan-out, and
	// their data, however old: the fan-out still needs them (it would find
	// no event, or match the filters against cleared data).
	upTo := time.Now().Add(time.Millisecond) // every event so far is older
	_, err = a.Prune(ctx(t), upTo)
	must(t, err, "Prune")
	_, err = a.ClearPayloads(ctx(t), upTo)
	must(t, err, "ClearPayloads")
	// A replay to a webhook that the fan-out has still to reach leaves its
	// events to it: resent now, they would go twice, under two webhook-ids.
	replay, err := hookd.NewReplay(wide[1].ID, upTo.Add(-time.Hour), nil, false, upTo, 0)
	must(t, err, "NewReplay")
	must(t, b.CreateReplay(ctx(t), replay), "CreateReplay")
	for replay.State == hookd.ReplayRunning {
		replay, _, err = b.ReplayChunk(ctx(t), replay.ID)
		must(t, err, "ReplayChunk")
	}
	equal(t, "replay: deliveries queued", queued(), 2)

	// Each call creates at most a chunk, whichever process makes it.
	total, calls := 2, 0
	for stores := []hookd.Store{b, a}; ; calls++ {
		more, err := stores[calls%2].FanOut(ctx(t))
		must(t, err, "FanOut")
		n := queued()
		if n-total > FanOutChunk {
			t.Fatalf("FanOut call %d created %d deliveries, more than the chunk of %d", calls+1, n-total, FanOutChunk)
		}
		total = n
		if !more {
			break
		}
		if calls > 20 {
			t.Fatal("FanOut still has work after 20 calls")
		}
	}
	equal(t, "deliveries once fanned out", total, 2+24+25+1+1)
	claimable := total - 1 // the ordered webhook's second waits for its first

	// Once each, and each webhook's in the order its events were accepted.
	ds, err := Deliveries(a.Claim(ctx(t), hookd.ClaimRequest{Worker: "suite", Limit: 1000, Lease: lease, Workers: 1000}))
	must(t, err, "Claim")
	seen := map[int64][]string{}
	slices.SortFunc(ds, func(x, y *hookd.Delivery) int { return cmp.Compare(x.ID, y.ID) })
	for _, d := range ds {
		seen[d.WebhookID] = append(seen[d.WebhookID], d.Event.ID)
	}
	for _, w := range wide[1 : len(wide)-1] {
		deepEqual(t, "events of a wide webhook, in order", seen[w.ID], []string{first.ID, second.ID})
	}
	deepEqual(t, "the filtered webhook's events", seen[filtered.ID], []string{second.ID})
	deepEqual(t, "the ordered webhook's lane: its head only", seen[ordered.ID], []string{first.ID})
	equal(t, "deliveries claimed", len(ds), claimable)
	deepEqual(t, "the narrow webhook's events, in order", seen[narrow.ID][2:], []string{small.ID, later.ID})

	// Without a backlog, a publish within the chunk creates its own again.
	publish(t, a, newEvent(assetRemoved, nil, nil))
	equal(t, "no backlog: created at once", queued(), total+1)

	// An event erased while it waits for its fan-out gets no deliveries.
	erased := newEvent(assetAdded, nil, nil)
	publish(t, a, erased)
	_, err = a.Erase(ctx(t), hookd.Erasure{EventID: erased.ID})
	must(t, err, "Erase")
	for more := true; more; {
		more, err = b.FanOut(ctx(t))
		must(t, err, "FanOut of an erased event")
	}
	equal(t, "deliveries of an erased event", queued(), total+1)

	// Events that create no delivery count in the chunk too: a backlog of
	// erased ones is cleared a chunk of events a call, not in one
	// transaction however long.
	project := "erased-backlog"
	for range 3 * FanOutChunk {
		publish(t, a, newEvent(assetAdded, &project, nil))
	}
	_, err = a.Erase(ctx(t), hookd.Erasure{ProjectID: project})
	must(t, err, "Erase the backlog")
	calls = 0
	for more := true; more; calls++ {
		more, err = b.FanOut(ctx(t))
		must(t, err, "FanOut of erased events")
	}
	if calls < 3 {
		t.Errorf("%d erased events waiting for their fan-out cleared in %d FanOut calls, want a chunk of %d a call", 3*FanOutChunk, calls, FanOutChunk)
	}
	equal(t, "deliveries of erased events", queued(), total+1)
}
