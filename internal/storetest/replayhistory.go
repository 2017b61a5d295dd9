package storetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

// testReplayHistory checks what a replay does with erased events and with
// events whose payload retention cleared their data, and that a replay's
// deliveries join an ordered webhook's lanes as a publish's do.
func testReplayHistory(t *testing.T, open opener) {
	t.Run("ErasedAndExpired", func(t *testing.T) {
		s := open(t)
		f := newReplayFixture(t, s)
		_, err := s.Erase(ctx(t), hookd.Erasure{EventID: f.failed.ID})
		must(t, err, "Erase")
		// Clears the data of the events before since+1.5s: the one never
		// delivered and the succeeded one.
		_, err = s.ClearPayloads(ctx(t), f.since.Add(1500*time.Millisecond))
		must(t, err, "ClearPayloads")

		// Contract: an erased event is not re-sent, nor one whose data
		// retention cleared (counted); a succeeded one is not counted when
		// it would not be re-sent anyway.
		r := f.replay(t, false)
		r, _ = chunk(t, s, r.ID)
		equal(t, "Queued", r.Queued, 0)
		equal(t, "SkippedPayloadExpired", r.SkippedPayloadExpired, 1)
		got, err := s.Replay(ctx(t), f.w.ID, r.ID)
		must(t, err, "Replay")
		equal(t, "SkippedPayloadExpired read", got.SkippedPayloadExpired, 1)

		r = f.replay(t, true)
		r, _ = chunk(t, s, r.ID)
		equal(t, "Queued with succeeded ones", r.Queued, 0)
		equal(t, "SkippedPayloadExpired with succeeded ones", r.SkippedPayloadExpired, 2)
	})

	t.Run("OrderedLanes", func(t *testing.T) {
		s := open(t)
		w := createWebhook(t, s, newWebhook("w", assetAdded))
		since := s.clock.Now()
		events := make([]*hookd.Event, hookd.ReplayChunkSize+10)
		for i := range events {
			events[i] = newEvent(assetAdded, nil, nil)
		}
		publish(t, s, events...)
		first := map[string]string{}
		for _, d := range claimAll(t, s, s.clock.Now()) {
			first[d.Event.ID] = d.MessageID
			complete(t, s, result(d, s.clock.Now(), true, 200))
		}
		must(t, s.UpdateSettings(ctx(t), w.ID, hookd.WebhookSettings{Ordering: hookd.OrderWebhook}.Update()), "UpdateSettings")
		s.clock.Advance(time.Second)
		r, err := hookd.NewReplay(w.ID, since, nil, true, s.clock.Now(), 0)
		must(t, err, "NewReplay")
		must(t, s.CreateReplay(ctx(t), r), "CreateReplay")
		r, _ = chunk(t, s, r.ID)
		equal(t, "Queued", r.Queued, hookd.ReplayChunkSize)
		// The replay's order: the events' (created_at, id).
		slices.SortFunc(events, func(a, b *hookd.Event) int { return strings.Compare(a.ID, b.ID) })

		// Contract: the replay's deliveries go one at a time, in the
		// events' order, each with its first webhook-id.
		for _, e := range events[:2] {
			due := claimAll(t, s, s.clock.Now())
			if len(due) != 1 || due[0].Event.ID != e.ID {
				t.Fatalf("due %v, want only event %s's delivery", deliveryIDs(due), e.ID)
			}
			equal(t, "webhook-id", due[0].MessageID, first[e.ID])
			complete(t, s, result(due[0], s.clock.Now(), true, 200))
		}
		// Contract: cancelling drops the replay's waiting deliveries, the
		// lane's head included, and lets a later one of the lane go.
		later := newEvent(assetAdded, nil, nil)
		publish(t, s, later)
		r, err = s.CancelReplay(ctx(t), w.ID, r.ID)
		must(t, err, "CancelReplay")
		equal(t, "State", r.State, hookd.ReplayCancelled)
		next := claimAll(t, s, s.clock.Now())
		if len(next) != 1 || next[0].Event.ID != later.ID {
			t.Fatalf("after the cancel, due %v, want the later event's delivery", deliveryIDs(next))
		}
	})

	t.Run("RequeueFailedLanesAndErasure", func(t *testing.T) {
		s := open(t)
		w := createWebhook(t, s, newWebhook("w", assetAdded))
		must(t, s.UpdateSettings(ctx(t), w.ID, hookd.WebhookSettings{Ordering: hookd.OrderWebhook}.Update()), "UpdateSettings")
		from := s.clock.Now()
		events := []*hookd.Event{newEvent(assetAdded, nil, nil), newEvent(assetAdded, nil, nil), newEvent(assetAdded, nil, nil)}
		publish(t, s, events...)
		for range events {
			due := claimAll(t, s, s.clock.Now())
			equal(t, "due in the lane", len(due), 1)
			complete(t, s, result(due[0], s.clock.Now(), false, 500))
		}
		_, err := s.Erase(ctx(t), hookd.Erasure{EventID: events[2].ID})
		must(t, err, "Erase")
		s.clock.Advance(time.Second)
		// Contract: RequeueFailed puts failed deliveries back into their
		// lanes, and leaves those of erased events.
		n, err := s.RequeueFailed(ctx(t), from, s.clock.Now())
		must(t, err, "RequeueFailed")
		equal(t, "requeued", n, 2)
		for _, e := range events[:2] {
			due := claimAll(t, s, s.clock.Now())
			if len(due) != 1 || due[0].Event.ID != e.ID {
				t.Fatalf("due %v, want only event %s's delivery", deliveryIDs(due), e.ID)
			}
			complete(t, s, result(due[0], s.clock.Now(), true, 200))
		}
		equal(t, "due at the end", len(claimAll(t, s, s.clock.Now())), 0)
	})
}
