package storetest

import (
	"testing"
	"time"

	"github.com/hookd/hookd"
)

// testCancelReplayLeases checks which deliveries cancelling a replay drops
// (hookd.Replay.Cancel): those not in flight at the cancel, a delivery
// whose lease has ended (its worker died) among them. One whose lease runs
// is left to its worker, and its results are recorded as any other's.
func testCancelReplayLeases(t *testing.T, open opener) {
	// running publishes a chunk of events to w, delivers them, and starts
	// a replay of them all and works its first chunk: hookd.ReplayChunkSize
	// deliveries queued, and the replay runs on (its next chunk is empty).
	running := func(t *testing.T, s *testStore, w *hookd.Webhook) *hookd.Replay {
		t.Helper()
		s.clock.Advance(time.Second) // past what the test published before
		since := s.clock.Now()
		events := make([]*hookd.Event, hookd.ReplayChunkSize)
		for i := range events {
			events[i] = newEvent(assetAdded, nil, nil)
		}
		publish(t, s, events...)
		for ds := claimAll(t, s, since); len(ds) > 0; ds = claimAll(t, s, since) {
			var results []hookd.AttemptResult
			for _, d := range ds {
				results = append(results, result(d, since, true, 200))
			}
			complete(t, s, results...)
		}
		s.clock.Advance(time.Second)
		r, err := hookd.NewReplay(w.ID, since, nil, true, s.clock.Now(), 0)
		must(t, err, "NewReplay")
		must(t, s.CreateReplay(ctx(t), r), "CreateReplay")
		r, _ = chunk(t, s, r.ID)
		equal(t, "Queued", r.Queued, hookd.ReplayChunkSize)
		equal(t, "State", r.State, hookd.ReplayRunning)
		return r
	}
	// as is r, the result of an attempt by worker.
	as := func(r hookd.AttemptResult, worker string) hookd.AttemptResult {
		r.Worker = worker
		return r
	}

	t.Run("ended and running leases", func(t *testing.T) {
		s := open(t)
		w := createWebhook(t, s, newWebhook("w", assetAdded))
		r := running(t, s, w)
		t0 := s.clock.Now()
		dead, err := s.claimAt(t0, "dead", 1) // its worker dies
		must(t, err, "Claim")
		equal(t, "claimed by the dead worker", len(dead), 1)
		ended := t0.Add(lease)
		live, err := s.claimAt(ended, "live", 2)
		must(t, err, "Claim")
		equal(t, "claimed by the live worker", len(live), 2)
		for _, d := range live {
			if d.ID == dead[0].ID {
				t.Fatalf("claimed %d again, want the replay's deliveries never claimed", d.ID)
			}
		}

		// Contract: cancelling drops the deliveries not in flight, the
		// one whose lease has ended among them, and leaves those in
		// flight to their worker.
		r, err = s.CancelReplay(ctx(t), w.ID, r.ID)
		must(t, err, "CancelReplay")
		equal(t, "Pending after cancel", r.Pending, 2)
		_, _, err = s.Delivery(ctx(t), w.ID, dead[0].ID)
		mustErr(t, err, hookd.ErrNotFound, "Delivery whose lease had ended")

		// Contract: the results of those in flight are recorded as any
		// other; the late result of the dropped one is dropped with it.
		retried, done := live[0], live[1]
		successes := len(logOf(t, s, w.ID, true))
		complete(t, s, as(result(dead[0], ended, true, 200), "dead"),
			as(retry(retried, ended, ended.Add(time.Minute)), "live"), as(result(done, ended, true, 200), "live"))
		equal(t, "successes logged", len(logOf(t, s, w.ID, true)), successes+1)
		equal(t, "failures logged", len(logOf(t, s, w.ID, false)), 1)
		r, err = s.Replay(ctx(t), w.ID, r.ID)
		must(t, err, "Replay")
		deepEqual(t, "pending, succeeded, failed", []int{r.Pending, r.Succeeded, r.Failed}, []int{1, 1, 0})
		again := claimOne(t, s, ended.Add(time.Minute))
		equal(t, "retry claimed", again.ID, retried.ID)
		complete(t, s, result(again, ended.Add(time.Minute), true, 200))
		r, err = s.Replay(ctx(t), w.ID, r.ID)
		must(t, err, "Replay")
		deepEqual(t, "pending, succeeded, failed at the end", []int{r.Pending, r.Succeeded, r.Failed}, []int{0, 2, 0})
	})

	// Contract: a lane's head whose lease has ended is dropped like the
	// rest of the replay's deliveries, and the lane goes on with the
	// delivery queued behind them.
	t.Run("lane head whose lease ended", func(t *testing.T) {
		s := open(t)
		w := createWebhook(t, s, newWebhook("w", assetAdded))
		publish(t, s, newEvent(userAdded, nil, nil))
		must(t, s.UpdateSettings(ctx(t), w.ID, hookd.WebhookSettings{Ordering: hookd.OrderWebhook}.Update()), "UpdateSettings")
		r := running(t, s, w)
		t0 := s.clock.Now()
		claimOne(t, s, t0) // its worker dies
		behind := publish(t, s, newEvent(assetAdded, nil, nil))[0].Event.ID
		ended := t0.Add(lease)
		s.clock.Set(ended)
		r, err := s.CancelReplay(ctx(t), w.ID, r.ID)
		must(t, err, "CancelReplay")
		equal(t, "Pending after cancel", r.Pending, 0)
		equal(t, "claimed after cancel", claimOne(t, s, ended).Event.ID, behind)
	})
}
