package storetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

// testPublishToBehindFanOut checks that a PublishTo (the test action, a
// notification) to an ordered webhook never overtakes, in the webhook's
// lane, an event published before it whose fan-out has not reached the
// webhook yet: FanOut creates its delivery after that event's
// (hookd.PlanFanOut). To an unordered webhook it still goes at once.
func testPublishToBehindFanOut(t *testing.T, open opener) {
	t.Run("to an ordered webhook it waits behind the earlier fan-out", func(t *testing.T) {
		f := newFanOutFixture(t, open)
		s := f.s
		test := newEvent(assetAdded, nil, nil)
		must(t, s.PublishTo(ctx(t), f.ordered.ID, test), "PublishTo")
		equal(t, "FanOutWakeup after a PublishTo left to FanOut", fanOutWoken(s), true)
		later := newEvent(assetAdded, nil, nil)
		publish(t, s, later)
		f.claimed(t, f.ordered, "before the fan-out")

		fanOutAll(t, s)
		f.claimed(t, f.ordered, "the lane's head: the event published first", f.earlier.ID)
		f.claimed(t, f.ordered, "then the test", test.ID)
		f.claimed(t, f.ordered, "then the event published after it", later.ID)

		// With no fan-out waiting, a PublishTo joins the lane at once.
		fanOutWoken(s) // the later publish's
		again := newEvent(assetAdded, nil, nil)
		must(t, s.PublishTo(ctx(t), f.ordered.ID, again), "PublishTo with no fan-out waiting")
		equal(t, "FanOutWakeup after a PublishTo with no fan-out waiting", fanOutWoken(s), false)
		f.claimed(t, f.ordered, "with no fan-out waiting", again.ID)
	})

	t.Run("to an unordered webhook it goes at once", func(t *testing.T) {
		f := newFanOutFixture(t, open)
		s := f.s
		drainWakeup(s)
		test := newEvent(assetAdded, nil, nil)
		must(t, s.PublishTo(ctx(t), f.unordered.ID, test), "PublishTo")
		equal(t, "FanOutWakeup", fanOutWoken(s), false)
		awaitWakeup(t, s, "PublishTo to an unordered webhook")
		f.claimed(t, f.unordered, "before the fan-out", test.ID)
		fanOutAll(t, s)
		f.claimed(t, f.unordered, "after the fan-out", f.earlier.ID)
	})

	t.Run("erased, or its webhook deleted, while it waits: no delivery", func(t *testing.T) {
		f := newFanOutFixture(t, open)
		s := f.s
		erased := newEvent(assetAdded, nil, nil)
		must(t, s.PublishTo(ctx(t), f.ordered.ID, erased), "PublishTo")
		_, err := s.Erase(ctx(t), hookd.Erasure{EventID: erased.ID})
		must(t, err, "Erase")
		gone := createWebhook(t, s, newWebhook("gone", userAdded))
		must(t, s.UpdateSettings(ctx(t), gone.ID, hookd.WebhookSettings{Ordering: hookd.OrderWebhook}.Update()), "UpdateSettings ordering")
		must(t, s.PublishTo(ctx(t), gone.ID, newEvent(userAdded, nil, nil)), "PublishTo")
		must(t, s.DeleteWebhook(ctx(t), gone.ID), "DeleteWebhook")

		fanOutAll(t, s)
		f.claimed(t, f.ordered, "the earlier event only", f.earlier.ID)
		f.claimed(t, f.ordered, "nothing of the erased event")
	})

	t.Run("a replay to another webhook does not wait for it", func(t *testing.T) {
		// The test event waits for the ordered webhook alone: the unordered
		// one, which subscribes to it, never had it, and a replay resends it.
		f := newFanOutFixture(t, open)
		s := f.s
		since := s.clock.Advance(time.Second) // after the fixture's events
		test := newEvent(assetAdded, nil, nil)
		must(t, s.PublishTo(ctx(t), f.ordered.ID, test), "PublishTo")
		r, err := hookd.NewReplay(f.unordered.ID, since, nil, false, s.clock.Advance(time.Second), 0)
		must(t, err, "NewReplay")
		must(t, s.CreateReplay(ctx(t), r), "CreateReplay")
		for r.State == hookd.ReplayRunning {
			r, _ = chunk(t, s, r.ID)
		}
		equal(t, "Queued", r.Queued, 1)
		f.claimed(t, f.unordered, "replayed", test.ID)
	})
}

// fanOutFixture is a store where an event, earlier, waits for its fan-out
// to the webhooks that subscribe to assetAdded: one ordered, one not. The
// batch that published it filled the chunk (hookd.FanOutChunk) with events
// to another webhook, deleted since with their deliveries.
type fanOutFixture struct {
	s                  *testStore
	ordered, unordered *hookd.Webhook
	earlier            *hookd.Event
}

func newFanOutFixture(t *testing.T, open opener) *fanOutFixture {
	t.Helper()
	s := open(t)
	f := &fanOutFixture{s: s,
		ordered:   createWebhook(t, s, newWebhook("ordered", assetAdded)),
		unordered: createWebhook(t, s, newWebhook("unordered", assetAdded)),
		earlier:   newEvent(assetAdded, nil, nil),
	}
	must(t, s.UpdateSettings(ctx(t), f.ordered.ID, hookd.WebhookSettings{Ordering: hookd.OrderWebhook}.Update()), "UpdateSettings ordering")
	filler := createWebhook(t, s, newWebhook("filler", assetRemoved))
	batch := make([]*hookd.Event, 0, hookd.FanOutChunk+1)
	for range hookd.FanOutChunk {
		batch = append(batch, &hookd.Event{Event: assetRemoved, Data: json.RawMessage(`{}`)})
	}
	publish(t, s, append(batch, f.earlier)...)
	must(t, s.DeleteWebhook(ctx(t), filler.ID), "DeleteWebhook filler")
	figures(t, s, f.ordered.ID, 0, 0) // earlier waits for FanOut
	fanOutWoken(s)
	return f
}

// claimed claims every due delivery and checks the events of w's, in the
// order they were queued, settling them as succeeded.
func (f *fanOutFixture) claimed(t *testing.T, w *hookd.Webhook, what string, want ...string) {
	t.Helper()
	ds := claimAll(t, f.s, f.s.clock.Now())
	slices.SortFunc(ds, func(x, y *hookd.Delivery) int { return int(x.ID - y.ID) })
	var got []string
	for _, d := range ds {
		if d.WebhookID == w.ID {
			got = append(got, d.Event.ID)
			complete(t, f.s, result(d, f.s.clock.Now(), true, 200))
		}
	}
	equal(t, what, fmt.Sprint(got), fmt.Sprint(want))
}

// fanOutWoken reports whether s's FanOutWakeup had a value, and takes it.
func fanOutWoken(s hookd.Store) bool {
	select {
	case <-s.FanOutWakeup():
		return true
	default:
		return false
	}
}

// fanOutAll runs FanOut until it has nothing left.
func fanOutAll(t *testing.T, s hookd.Store) {
	t.Helper()
	for more := true; more; {
		var err error
		more, err = s.FanOut(ctx(t))
		must(t, err, "FanOut")
	}
}
