package storetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

// Payload filters, replays and the bulk requeue (issue 15).

func testFilters(t *testing.T, open opener) {
	s := open(t)
	plain := createWebhook(t, s, newWebhook("plain", assetAdded))
	videos := createWebhook(t, s, newWebhook("videos", assetAdded))
	set := hookd.WebhookSettings{MaxInFlight: 2, Filter: `has(data.kind) && data.kind == "video"`}
	must(t, s.UpdateSettings(ctx(t), videos.ID, set.Update()), "UpdateSettings with a filter")
	got, err := s.Settings(ctx(t), videos.ID)
	must(t, err, "Settings")
	equal(t, "Settings", got, set)

	event := func(kind string) *hookd.Event {
		e := newEvent(assetAdded, nil, nil)
		e.Data = json.RawMessage(fmt.Sprintf(`{"kind":%q}`, kind))
		return e
	}
	res := publish(t, s, event("video"), event("image"))
	equal(t, "deliveries of the video", res[0].Deliveries, 2)
	equal(t, "deliveries of the image", res[1].Deliveries, 1)
	receivers := func() map[string][]int64 {
		out := map[string][]int64{}
		for _, d := range claimAll(t, s, s.clock.Now()) {
			out[d.Event.ID] = append(out[d.Event.ID], d.WebhookID)
		}
		for _, l := range out {
			slices.Sort(l)
		}
		return out
	}
	deepEqual(t, "receivers", receivers(), map[string][]int64{
		res[0].Event.ID: {plain.ID, videos.ID},
		res[1].Event.ID: {plain.ID},
	})

	// Contract: a new filter applies from the next publish, as a change of
	// subscriptions does.
	must(t, s.UpdateSettings(ctx(t), videos.ID, hookd.WebhookSettings{Filter: `data.kind == "image"`}.Update()), "UpdateSettings")
	res = publish(t, s, event("video"), event("image"))
	deepEqual(t, "receivers after the change", receivers(), map[string][]int64{
		res[0].Event.ID: {plain.ID},
		res[1].Event.ID: {plain.ID, videos.ID},
	})
	// No filter: every subscribed event again.
	must(t, s.UpdateSettings(ctx(t), videos.ID, hookd.WebhookSettings{}.Update()), "UpdateSettings without a filter")
	res = publish(t, s, event("video"))
	equal(t, "deliveries without a filter", res[0].Deliveries, 2)
}

// replayFixture is a webhook with events of every kind a replay meets, in
// [since, until).
type replayFixture struct {
	s            *testStore
	w            *hookd.Webhook
	since, until time.Time
	// The events in range, by what became of their delivery to w.
	succeeded, failed, pending, unmatched, undelivered *hookd.Event
	before, atUntil                                    *hookd.Event // out of range
	messageIDs                                         map[string]string
}

func newReplayFixture(t *testing.T, s *testStore) *replayFixture {
	f := &replayFixture{s: s, messageIDs: map[string]string{}}
	stamp := func(name string, at time.Time) *hookd.Event {
		e := newEvent(name, nil, nil)
		e.CreatedAt = at
		return e
	}
	base := s.clock.Now()
	f.since, f.until = base.Add(time.Second), base.Add(10*time.Second)
	// Accepted before the webhook existed: it never had a delivery to it.
	f.undelivered = stamp(assetAdded, f.since)
	publish(t, s, f.undelivered)
	f.w = createWebhook(t, s, newWebhook("w", assetAdded))
	f.before = stamp(assetAdded, base)
	f.succeeded = stamp(assetAdded, f.since.Add(time.Second))
	f.failed = stamp(assetAdded, f.since.Add(2*time.Second))
	f.pending = stamp(assetAdded, f.since.Add(3*time.Second))
	f.unmatched = stamp(userAdded, f.since.Add(4*time.Second))
	f.atUntil = stamp(assetAdded, f.until)
	publish(t, s, f.before, f.succeeded, f.failed, f.pending, f.unmatched, f.atUntil)
	now := f.until.Add(time.Second)
	for _, d := range claimAll(t, s, now) {
		f.messageIDs[d.Event.ID] = d.MessageID
		switch d.Event.ID {
		case f.failed.ID:
			complete(t, s, result(d, now, false, 500))
		case f.pending.ID:
			complete(t, s, retry(d, now, now.Add(time.Hour)))
		default:
			complete(t, s, result(d, now, true, 200))
		}
	}
	s.clock.Set(now.Add(time.Second))
	return f
}

// replay creates a replay of f's range.
func (f *replayFixture) replay(t *testing.T, includeSucceeded bool) *hookd.Replay {
	t.Helper()
	r, err := hookd.NewReplay(f.w.ID, f.since, &f.until, includeSucceeded, f.s.clock.Now(), 0)
	must(t, err, "NewReplay")
	must(t, f.s.CreateReplay(ctx(t), r), "CreateReplay")
	return r
}

// chunk works the next chunk of replay id.
func chunk(t *testing.T, s *testStore, id int64) (*hookd.Replay, bool) {
	t.Helper()
	r, advanced, err := s.ReplayChunk(ctx(t), id)
	must(t, err, "ReplayChunk")
	return r, advanced
}

// replayed claims every due delivery and returns the event id and
// webhook-id of each, settling them as succeeded.
func replayed(t *testing.T, s *testStore) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, d := range claimAll(t, s, s.clock.Now()) {
		if _, twice := out[d.Event.ID]; twice {
			t.Errorf("event %s delivered twice", d.Event.ID)
		}
		out[d.Event.ID] = d.MessageID
		complete(t, s, result(d, s.clock.Now(), true, 200))
	}
	return out
}

func testReplays(t *testing.T, open opener) {
	t.Run("WhatIsResent", func(t *testing.T) {
		s := open(t)
		f := newReplayFixture(t, s)
		r := f.replay(t, false)
		equal(t, "State", r.State, hookd.ReplayRunning)
		// Contract: Total counts every event accepted in range, whoever it
		// was for.
		equal(t, "Total", r.Total, 5)
		got, err := s.Replay(ctx(t), f.w.ID, r.ID)
		must(t, err, "Replay")
		equal(t, "Replay.Total", got.Total, 5)
		sameTime(t, "Replay.Since", got.Since, f.since)
		sameTime(t, "Replay.Until", got.Until, f.until)

		drainWakeup(s)
		r, advanced := chunk(t, s, r.ID)
		equal(t, "advanced", advanced, true)
		equal(t, "State after the only chunk", r.State, hookd.ReplayDone)
		equal(t, "Scanned", r.Scanned, 5)
		equal(t, "Queued", r.Queued, 2)
		equal(t, "Pending", r.Pending, 2)
		if r.FinishedAt == nil {
			t.Error("a done replay has no FinishedAt")
		}
		awaitWakeup(t, s, "ReplayChunk queued deliveries")
		// The failed event, with its webhook-id, and the one the webhook
		// never had, with a new one; not the succeeded, pending, unmatched
		// or out-of-range ones.
		sent := replayed(t, s)
		equal(t, "events re-sent", len(sent), 2)
		equal(t, "webhook-id of the failed event", sent[f.failed.ID], f.messageIDs[f.failed.ID])
		if id := sent[f.undelivered.ID]; id == "" || id == f.messageIDs[f.undelivered.ID] {
			t.Errorf("the event never delivered was re-sent with webhook-id %q", id)
		}
		got, err = s.Replay(ctx(t), f.w.ID, r.ID)
		must(t, err, "Replay after delivery")
		equal(t, "Succeeded", got.Succeeded, 2)
		equal(t, "Pending after delivery", got.Pending, 0)

		// With IncludeSucceeded, the succeeded ones too (the replay's own
		// included), each with the webhook-id of its first delivery.
		r = f.replay(t, true)
		_, advanced = chunk(t, s, r.ID)
		equal(t, "advanced", advanced, true)
		sent2 := replayed(t, s)
		deepEqual(t, "events re-sent with succeeded ones", sent2, map[string]string{
			f.undelivered.ID: sent[f.undelivered.ID],
			f.succeeded.ID:   f.messageIDs[f.succeeded.ID],
			f.failed.ID:      f.messageIDs[f.failed.ID],
		})
		_, advanced = chunk(t, s, r.ID)
		equal(t, "a done replay advances", advanced, false)

		list, err := s.ListReplays(ctx(t), f.w.ID, 10)
		must(t, err, "ListReplays")
		equal(t, "replays listed", len(list), 2)
		equal(t, "newest first", list[0].ID, r.ID)
		equal(t, "figures listed", list[0].Succeeded, 3)
	})

	t.Run("Filter", func(t *testing.T) {
		s := open(t)
		f := newReplayFixture(t, s)
		// Contract: a replay matches with the webhook's filter as it is now.
		must(t, s.UpdateSettings(ctx(t), f.w.ID, hookd.WebhookSettings{Filter: `data.n > 2.0`}.Update()), "UpdateSettings")
		r := f.replay(t, true)
		r, _ = chunk(t, s, r.ID)
		equal(t, "Queued with a filter no event passes", r.Queued, 0)
		equal(t, "Scanned", r.Scanned, 5)
	})

	t.Run("ChunksAndPace", func(t *testing.T) {
		s := open(t)
		w := createWebhook(t, s, newWebhook("w", assetAdded))
		since := s.clock.Now()
		n := hookd.ReplayQueueLimit + hookd.ReplayChunkSize + 7
		events := make([]*hookd.Event, n)
		for i := range events {
			events[i] = newEvent(assetAdded, nil, nil)
			events[i].CreatedAt = since.Add(time.Duration(i/3) * time.Millisecond) // some share a time
		}
		publish(t, s, events...)
		original := map[string]string{}
		for _, d := range succeedAll(t, s) {
			original[d.Event.ID] = d.MessageID
		}
		s.clock.Advance(time.Minute)
		r, err := hookd.NewReplay(w.ID, since, nil, true, s.clock.Now(), 0)
		must(t, err, "NewReplay")
		must(t, s.CreateReplay(ctx(t), r), "CreateReplay")
		running, err := s.RunningReplays(ctx(t))
		must(t, err, "RunningReplays")
		deepEqual(t, "RunningReplays", running, []int64{r.ID})

		// Contract: a replay reads chunks until ReplayQueueLimit of its
		// deliveries are pending, and the next once fewer are.
		advanced := true
		for chunks := 0; advanced; chunks++ {
			r, advanced = chunk(t, s, r.ID)
			if chunks > hookd.ReplayQueueLimit/hookd.ReplayChunkSize {
				t.Fatal("the replay did not wait for its deliveries")
			}
		}
		equal(t, "Queued before it waits", r.Queued, hookd.ReplayQueueLimit)
		equal(t, "Pending when it waits", r.Pending, hookd.ReplayQueueLimit)
		seen := map[string]string{}
		var order []string
		note := func(ds []*hookd.Delivery) {
			for _, d := range ds {
				if _, twice := seen[d.Event.ID]; twice {
					t.Fatalf("event %s re-sent twice", d.Event.ID)
				}
				seen[d.Event.ID] = d.MessageID
				order = append(order, d.Event.ID)
			}
		}
		one, err := s.claimAt(s.clock.Now(), "suite", 1)
		must(t, err, "Claim one")
		complete(t, s, result(one[0], s.clock.Now(), true, 200))
		note(one)
		r, advanced = chunk(t, s, r.ID)
		equal(t, "advanced once one is done", advanced, true)
		for r.State == hookd.ReplayRunning {
			note(succeedAll(t, s))
			if r, advanced = chunk(t, s, r.ID); !advanced {
				t.Fatal("the replay did not advance once its deliveries were done")
			}
		}
		note(succeedAll(t, s))
		deepEqual(t, "webhook-ids re-sent", seen, original)
		equal(t, "Scanned", r.Scanned, n)
		equal(t, "Queued", r.Queued, n)
		equal(t, "Total", r.Total, n)
		// In the order the events were accepted: the claim serves the
		// oldest deliveries first.
		want := make([]string, n)
		for i, e := range events {
			want[i] = e.ID
		}
		created := map[string]time.Time{}
		for _, e := range events {
			created[e.ID] = e.CreatedAt
		}
		slices.SortFunc(want, func(a, b string) int {
			if c := created[a].Compare(created[b]); c != 0 {
				return c
			}
			return strings.Compare(a, b)
		})
		deepEqual(t, "order re-sent", order, want)
		running, err = s.RunningReplays(ctx(t))
		must(t, err, "RunningReplays after")
		equal(t, "running after", len(running), 0)
	})

	t.Run("Cancel", func(t *testing.T) {
		s := open(t)
		w := createWebhook(t, s, newWebhook("w", assetAdded))
		since := s.clock.Now()
		events := make([]*hookd.Event, hookd.ReplayChunkSize+10)
		for i := range events {
			events[i] = newEvent(assetAdded, nil, nil)
		}
		publish(t, s, events...)
		for _, d := range claimAll(t, s, s.clock.Now()) {
			complete(t, s, result(d, s.clock.Now(), true, 200))
		}
		s.clock.Advance(time.Second)
		r, err := hookd.NewReplay(w.ID, since, nil, true, s.clock.Now(), 0)
		must(t, err, "NewReplay")
		must(t, s.CreateReplay(ctx(t), r), "CreateReplay")
		// Contract: one running replay per webhook.
		second, _ := hookd.NewReplay(w.ID, since, nil, true, s.clock.Now(), 0)
		mustErr(t, s.CreateReplay(ctx(t), second), hookd.ErrConflict, "CreateReplay while one runs")
		chunk(t, s, r.ID)
		inFlight, err := s.claimAt(s.clock.Now(), "suite", 3)
		must(t, err, "Claim")
		equal(t, "claimed", len(inFlight), 3)

		// Contract: cancelling drops the deliveries no attempt has started,
		// and the replay reads no more.
		r, err = s.CancelReplay(ctx(t), w.ID, r.ID)
		must(t, err, "CancelReplay")
		equal(t, "State", r.State, hookd.ReplayCancelled)
		equal(t, "Pending after cancel", r.Pending, 3)
		if r.FinishedAt == nil {
			t.Error("a cancelled replay has no FinishedAt")
		}
		_, advanced := chunk(t, s, r.ID)
		equal(t, "a cancelled replay advances", advanced, false)
		equal(t, "claimable after cancel", len(claimAll(t, s, s.clock.Now())), 0)
		again, err := s.CancelReplay(ctx(t), w.ID, r.ID)
		must(t, err, "CancelReplay again")
		equal(t, "State after a second cancel", again.State, hookd.ReplayCancelled)
		sameTimePtr(t, "FinishedAt after a second cancel", again.FinishedAt, r.FinishedAt)
		must(t, s.CreateReplay(ctx(t), second), "CreateReplay after the cancel")
	})

	t.Run("DisabledWaits", func(t *testing.T) {
		s := open(t)
		f := newReplayFixture(t, s)
		_, err := s.UpdateWebhook(ctx(t), f.w.ID, hookd.WebhookUpdate{Disabled: ptr(true)})
		must(t, err, "disable")
		r := f.replay(t, false)
		_, advanced := chunk(t, s, r.ID)
		equal(t, "a replay of a disabled webhook advances", advanced, false)
		_, err = s.UpdateWebhook(ctx(t), f.w.ID, hookd.WebhookUpdate{Disabled: ptr(false)})
		must(t, err, "enable")
		r, advanced = chunk(t, s, r.ID)
		equal(t, "advanced once enabled", advanced, true)
		equal(t, "Queued", r.Queued, 2)
	})

	t.Run("NotFound", func(t *testing.T) {
		s := open(t)
		w := createWebhook(t, s, newWebhook("w", assetAdded))
		other := createWebhook(t, s, newWebhook("other", assetAdded))
		r, err := hookd.NewReplay(missingID, s.clock.Now().Add(-time.Hour), nil, false, s.clock.Now(), 0)
		must(t, err, "NewReplay")
		mustErr(t, s.CreateReplay(ctx(t), r), hookd.ErrNotFound, "CreateReplay(unknown webhook)")
		r.WebhookID = w.ID
		must(t, s.CreateReplay(ctx(t), r), "CreateReplay")
		_, err = s.Replay(ctx(t), other.ID, r.ID)
		mustErr(t, err, hookd.ErrNotFound, "Replay of another webhook")
		_, err = s.CancelReplay(ctx(t), other.ID, r.ID)
		mustErr(t, err, hookd.ErrNotFound, "CancelReplay of another webhook")
		_, err = s.ListReplays(ctx(t), missingID, 10)
		mustErr(t, err, hookd.ErrNotFound, "ListReplays(unknown webhook)")
		list, err := s.ListReplays(ctx(t), other.ID, 10)
		must(t, err, "ListReplays(none)")
		equal(t, "replays of a webhook without any", len(list), 0)
		// A replay goes with its webhook.
		must(t, s.DeleteWebhook(ctx(t), w.ID), "DeleteWebhook")
		_, err = s.Replay(ctx(t), w.ID, r.ID)
		mustErr(t, err, hookd.ErrNotFound, "Replay of a deleted webhook")
		running, err := s.RunningReplays(ctx(t))
		must(t, err, "RunningReplays")
		equal(t, "running", len(running), 0)
	})
}

func testRequeueFailed(t *testing.T, open opener) {
	s := open(t)
	a := createWebhook(t, s, newWebhook("a", assetAdded))
	createWebhook(t, s, newWebhook("b", assetAdded))
	publish(t, s, newEvent(assetAdded, nil, nil), newEvent(assetAdded, nil, nil))
	base := s.clock.Now()
	var ofA, ofB []*hookd.Delivery
	for _, d := range claimAll(t, s, base) {
		if d.WebhookID == a.ID {
			ofA = append(ofA, d)
		} else {
			ofB = append(ofB, d)
		}
	}
	complete(t, s,
		result(ofA[0], base, false, 500),                    // before from
		result(ofA[1], base.Add(2*time.Second), false, 500), // in range
		result(ofB[0], base.Add(3*time.Second), false, 500), // in range, another webhook
		result(ofB[1], base.Add(3*time.Second), true, 200),  // a success
	)
	s.clock.Set(base.Add(time.Minute))
	n, err := s.RequeueFailed(ctx(t), base.Add(time.Second), s.clock.Now())
	must(t, err, "RequeueFailed")
	equal(t, "requeued", n, 2)
	again := claimAll(t, s, s.clock.Now())
	deepEqual(t, "requeued deliveries", sorted(deliveryIDs(again)), sorted([]int64{ofA[1].ID, ofB[0].ID}))
	for _, d := range again {
		equal(t, "Attempts of a requeued delivery", d.Attempts, 1)
	}
	n, err = s.RequeueFailed(ctx(t), base, s.clock.Now())
	must(t, err, "RequeueFailed again")
	equal(t, "requeued again", n, 1)
}

// ReplayResumes checks that a replay goes on where it stood in another
// store on the same database: reopen returns it, after the first one was
// closed (a restart) or beside it (another process on PostgreSQL).
func ReplayResumes(t *testing.T, first hookd.Store, reopen func() hookd.Store) {
	ctx := t.Context()
	w := createWebhook(t, first, newWebhook("w", assetAdded))
	since := time.Now().UTC().Truncate(time.Millisecond).Add(-time.Hour)
	events := make([]*hookd.Event, hookd.ReplayChunkSize+7)
	for i := range events {
		events[i] = newEvent(assetAdded, nil, nil)
		events[i].CreatedAt = since.Add(time.Duration(i) * time.Millisecond)
	}
	publish(t, first, events...)
	// The deliveries of the publish, succeeded, leave the replay's alone.
	ds, err := Deliveries(first.Claim(ctx, hookd.ClaimRequest{Worker: "w", Limit: len(events), Lease: lease, Workers: Workers}))
	must(t, err, "Claim")
	var results []hookd.AttemptResult
	for _, d := range ds {
		r := result(d, time.Now(), true, 200)
		r.Worker = "w"
		results = append(results, r)
	}
	complete(t, first, results...)
	r, err := hookd.NewReplay(w.ID, since, nil, true, time.Now(), 0)
	must(t, err, "NewReplay")
	must(t, first.CreateReplay(ctx, r), "CreateReplay")
	r, _, err = first.ReplayChunk(ctx, r.ID)
	must(t, err, "ReplayChunk")
	equal(t, "Queued by the first store", r.Queued, hookd.ReplayChunkSize)
	// Its deliveries go out, then the other store goes on.
	ds, err = Deliveries(first.Claim(ctx, hookd.ClaimRequest{Worker: "w2", Limit: len(events), Lease: lease, Workers: Workers}))
	must(t, err, "Claim the replay's")
	results = results[:0]
	for _, d := range ds {
		r := result(d, time.Now(), true, 200)
		r.Worker = "w2"
		results = append(results, r)
	}
	complete(t, first, results...)

	second := reopen()
	running, err := second.RunningReplays(ctx)
	must(t, err, "RunningReplays")
	deepEqual(t, "running after the restart", running, []int64{r.ID})
	r, advanced, err := second.ReplayChunk(ctx, r.ID)
	must(t, err, "ReplayChunk after the restart")
	equal(t, "advanced", advanced, true)
	equal(t, "State", r.State, hookd.ReplayDone)
	equal(t, "Scanned", r.Scanned, len(events))
	equal(t, "Queued", r.Queued, len(events))
	ds, err = Deliveries(second.Claim(ctx, hookd.ClaimRequest{Worker: "w3", Limit: len(events), Lease: lease, Workers: Workers}))
	must(t, err, "Claim the rest")
	want := map[string]bool{}
	for _, e := range events[hookd.ReplayChunkSize:] {
		want[e.ID] = true
	}
	got := map[string]bool{}
	for _, d := range ds {
		got[d.Event.ID] = true
	}
	deepEqual(t, "events of the second chunk", got, want)
}

// succeedAll claims every due delivery, however many claims it takes, and
// records a success of each; it returns them in the order claimed.
func succeedAll(t *testing.T, s *testStore) []*hookd.Delivery {
	t.Helper()
	var all []*hookd.Delivery
	for {
		ds := claimAll(t, s, s.clock.Now())
		if len(ds) == 0 {
			return all
		}
		var results []hookd.AttemptResult
		for _, d := range ds {
			results = append(results, result(d, s.clock.Now(), true, 200))
		}
		complete(t, s, results...)
		all = append(all, ds...)
	}
}
