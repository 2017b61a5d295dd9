package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/clocktest"
)

// testOrdering checks ordered delivery (hookd.Ordering): a lane's
// deliveries are claimed one at a time, in the order they were accepted,
// each once the one before succeeded or failed for good, whatever happens
// to it meanwhile; lanes are independent, and unordered webhooks are not
// held back.
func testOrdering(t *testing.T, open opener) {
	// ordered creates a webhook ordered by ordering, after a publish has
	// built the store's subscriptions, so that the setting must reach them.
	ordered := func(t *testing.T, s *testStore, name string, ordering hookd.Ordering) *hookd.Webhook {
		t.Helper()
		w := createWebhook(t, s, newWebhook(name, assetAdded))
		publish(t, s, newEvent(userAdded, nil, nil))
		must(t, s.UpdateSettings(ctx(t), w.ID, hookd.WebhookSettings{Ordering: ordering}.Update()), "UpdateSettings")
		return w
	}
	// events publishes one event a call (n of them) with data {"n": i}.
	events := func(t *testing.T, s *testStore, n int, project *string) []string {
		t.Helper()
		var ids []string
		for i := range n {
			e := newEvent(assetAdded, project, nil)
			e.Data = json.RawMessage(fmt.Sprintf(`{"n": %d}`, i))
			ids = append(ids, publish(t, s, e)[0].Event.ID)
		}
		return ids
	}
	// claimed claims every due delivery at now and checks their events.
	claimed := func(t *testing.T, s *testStore, now time.Time, what string, want ...string) []*hookd.Delivery {
		t.Helper()
		ds := claimAll(t, s, now)
		var got []string
		for _, d := range ds {
			got = append(got, d.Event.ID)
		}
		deepEqual(t, what, fmt.Sprint(got), fmt.Sprint(want))
		return ds
	}
	succeed := func(t *testing.T, s *testStore, d *hookd.Delivery, when time.Time) {
		t.Helper()
		complete(t, s, result(d, when, true, 200))
	}

	t.Run("one lane through retries and a final failure", func(t *testing.T) {
		s := open(t)
		w := ordered(t, s, "w", hookd.OrderWebhook)
		e := events(t, s, 4, nil)
		now := s.clock.Now()
		// Contract: the waiting deliveries count in the queue.
		figures(t, s, w.ID, 4, 0)
		d := claimed(t, s, now, "first claim", e[0])
		complete(t, s, retry(d[0], now, now.Add(10*time.Second)))
		claimed(t, s, now.Add(9*time.Second), "while the first waits for its retry")
		d = claimed(t, s, now.Add(10*time.Second), "at the retry", e[0])
		succeed(t, s, d[0], now.Add(10*time.Second))
		d = claimed(t, s, now.Add(10*time.Second), "after the first succeeded", e[1])
		complete(t, s, result(d[0], now.Add(11*time.Second), false, 500)) // no retry: failed for good
		d = claimed(t, s, now.Add(11*time.Second), "after the second failed for good", e[2])
		succeed(t, s, d[0], now.Add(12*time.Second))
		d = claimed(t, s, now.Add(12*time.Second), "last", e[3])
		succeed(t, s, d[0], now.Add(13*time.Second))
		claimed(t, s, now.Add(time.Hour), "nothing left")
		figures(t, s, w.ID, 0, 0)
	})

	t.Run("erasing the head's event lets the lane go on", func(t *testing.T) {
		s := open(t)
		ordered(t, s, "w", hookd.OrderWebhook)
		e := events(t, s, 4, nil)
		now := s.clock.Now()
		// The head waiting, then the head in flight: its late result is
		// dropped, so the erasure must unblock the lane itself.
		_, err := s.Erase(ctx(t), hookd.Erasure{EventID: e[0]})
		must(t, err, "Erase the waiting head")
		d := claimed(t, s, now, "after the waiting head was erased", e[1])
		_, err = s.Erase(ctx(t), hookd.Erasure{EventID: e[1]})
		must(t, err, "Erase the head in flight")
		next := claimed(t, s, now, "after the head in flight was erased", e[2])
		complete(t, s, result(d[0], now, true, 200)) // the erased head's late result
		claimed(t, s, now, "while the new head is in flight")
		succeed(t, s, next[0], now)
		claimed(t, s, now, "after the new head", e[3])
	})

	t.Run("a batch keeps its order", func(t *testing.T) {
		s := open(t)
		ordered(t, s, "w", hookd.OrderWebhook)
		batch := []*hookd.Event{newEvent(assetAdded, nil, nil), newEvent(assetAdded, nil, nil), newEvent(assetAdded, nil, nil)}
		publish(t, s, batch...)
		now := s.clock.Now()
		for i, e := range batch {
			d := claimed(t, s, now, fmt.Sprint("claim ", i), e.ID)
			succeed(t, s, d[0], now)
		}
	})

	t.Run("lanes by key proceed in parallel, unordered webhooks are not held", func(t *testing.T) {
		s := open(t)
		createProject(t, s, "P")
		createProject(t, s, "Q")
		w := ordered(t, s, "by project", hookd.OrderProject)
		free := createWebhook(t, s, newWebhook("unordered", assetAdded))
		P, Q := ptr("P"), ptr("Q")
		var ids []string
		for _, p := range []*string{P, Q, P, Q, nil, nil} {
			ids = append(ids, publish(t, s, newEvent(assetAdded, p, nil))[0].Event.ID)
		}
		now := s.clock.Now()
		ds := claimAll(t, s, now)
		got := map[int64][]string{}
		for _, d := range ds {
			got[d.WebhookID] = append(got[d.WebhookID], d.Event.ID)
		}
		deepEqual(t, "ordered: the head of each lane (P, Q, no project)", got[w.ID], []string{ids[0], ids[1], ids[4]})
		deepEqual(t, "unordered: all", got[free.ID], ids)
		for _, d := range ds {
			// Contract: a claimed delivery says whether it heads a lane.
			equal(t, fmt.Sprintf("delivery %d of webhook %d: Ordered", d.ID, d.WebhookID), d.Ordered, d.WebhookID == w.ID)
		}
		for _, d := range ds {
			if d.WebhookID == w.ID && d.Event.ID != ids[1] { // Q's head stays in flight
				succeed(t, s, d, now)
			}
		}
		d := claimAll(t, s, now)
		deepEqual(t, "the next of P and of no project", []string{d[0].Event.ID, d[1].Event.ID}, []string{ids[2], ids[5]})
	})

	t.Run("lanes by a data field", func(t *testing.T) {
		s := open(t)
		ordered(t, s, "by order", "data.order.id")
		var ids []string
		for _, data := range []string{`{"order": {"id": 1}}`, `{"order": {"id": "1"}}`, `{"order": {"id": 2}}`, `{}`, `{"order": null}`} {
			e := newEvent(assetAdded, nil, nil)
			e.Data = json.RawMessage(data)
			ids = append(ids, publish(t, s, e)[0].Event.ID)
		}
		// 1 and "1" share a lane; no field and null share the lane of none
		now := s.clock.Now()
		ds := claimed(t, s, now, "heads", ids[0], ids[2], ids[3])
		for _, d := range ds {
			succeed(t, s, d, now)
		}
		claimed(t, s, now, "the next ones", ids[1], ids[4])
	})

	t.Run("an expired lease makes the head due again, still first", func(t *testing.T) {
		s := open(t)
		ordered(t, s, "w", hookd.OrderWebhook)
		e := events(t, s, 2, nil)
		now := s.clock.Now()
		dead := claimed(t, s, now, "claimed by a worker that dies", e[0])
		claimed(t, s, now.Add(lease-time.Millisecond), "during the lease")
		again, err := s.claimAt(now.Add(lease), "next", 10)
		must(t, err, "Claim")
		equal(t, "claimed again", len(again), 1)
		equal(t, "the same head", again[0].ID, dead[0].ID)
		complete(t, s, result(dead[0], now.Add(lease), true, 200)) // the dead worker's: stale, dropped
		claimed(t, s, now.Add(lease), "after a stale result")
		r := result(again[0], now.Add(lease), true, 200)
		r.Worker = "next"
		complete(t, s, r)
		claimed(t, s, now.Add(lease), "after the head succeeded", e[1])
	})

	t.Run("disabled and enabled", func(t *testing.T) {
		s := open(t)
		w := ordered(t, s, "w", hookd.OrderWebhook)
		e := events(t, s, 3, nil)
		now := s.clock.Now()
		d := claimed(t, s, now, "head", e[0])
		disable := func(disabled bool) {
			t.Helper()
			_, err := s.UpdateWebhook(ctx(t), w.ID, hookd.WebhookUpdate{Disabled: ptr(disabled)})
			must(t, err, "UpdateWebhook")
		}
		disable(true)
		succeed(t, s, d[0], now) // the attempt in flight ends while disabled
		claimed(t, s, now.Add(time.Hour), "while disabled")
		disable(false)
		d = claimed(t, s, now.Add(time.Hour), "enabled: the next, alone", e[1])
		complete(t, s, retry(d[0], now.Add(time.Hour), now.Add(2*time.Hour)))
		disable(true) // the head waits for its retry: parked
		disable(false)
		d = claimed(t, s, now.Add(time.Hour), "enabled again: the head, alone", e[1])
		succeed(t, s, d[0], now.Add(time.Hour))
		claimed(t, s, now.Add(time.Hour), "then the last", e[2])
	})

	t.Run("an open circuit holds the lane", func(t *testing.T) {
		s := open(t)
		ordered(t, s, "w", hookd.OrderWebhook)
		e := events(t, s, 2, nil)
		now := s.clock.Now()
		for i := range hookd.DefaultCircuitPolicy.Failures {
			when := now.Add(time.Duration(i) * time.Second)
			d := claimed(t, s, when, fmt.Sprint("attempt ", i+1), e[0])
			complete(t, s, retry(d[0], when, when.Add(time.Second)))
		}
		c, err := s.Circuit(ctx(t), claimedWebhook(t, s))
		must(t, err, "Circuit")
		equal(t, "circuit", c.State, hookd.CircuitOpen)
		claimed(t, s, c.ProbeAt.Add(-time.Millisecond), "while open")
		d := claimed(t, s, *c.ProbeAt, "the probe: the head", e[0])
		succeed(t, s, d[0], *c.ProbeAt)
		claimed(t, s, *c.ProbeAt, "closed again: the next", e[1])
	})

	t.Run("requeued deliveries go back into their lane", func(t *testing.T) {
		s := open(t)
		w := ordered(t, s, "w", hookd.OrderWebhook)
		e := events(t, s, 3, nil)
		now := s.clock.Now()
		d := claimed(t, s, now, "head", e[0])
		complete(t, s, result(d[0], now, false, 500))
		second := claimed(t, s, now, "after it failed", e[1])
		n, err := s.requeueAt(now.Add(time.Second), w.ID, now, now.Add(time.Second))
		must(t, err, "Requeue")
		equal(t, "requeued", n, 1)
		claimed(t, s, now.Add(time.Second), "while the second is in flight")
		succeed(t, s, second[0], now.Add(time.Second))
		d = claimed(t, s, now.Add(time.Second), "the requeued one, before the third", e[0])
		succeed(t, s, d[0], now.Add(time.Second))
		claimed(t, s, now.Add(time.Second), "the third", e[2])
	})

	t.Run("the test action joins the lane", func(t *testing.T) {
		s := open(t)
		w := ordered(t, s, "w", hookd.OrderWebhook)
		e := events(t, s, 1, nil)
		test := newEvent(assetAdded, nil, nil)
		must(t, s.PublishTo(ctx(t), w.ID, test), "PublishTo")
		now := s.clock.Now()
		d := claimed(t, s, now, "head", e[0])
		succeed(t, s, d[0], now)
		claimed(t, s, now, "then the test", test.ID)
	})

	t.Run("turning ordering off releases the lanes", func(t *testing.T) {
		s := open(t)
		w := ordered(t, s, "w", hookd.OrderWebhook)
		e := events(t, s, 3, nil)
		now := s.clock.Now()
		head := claimed(t, s, now, "head", e[0])
		drainWakeup(s)
		must(t, s.UpdateSettings(ctx(t), w.ID, hookd.WebhookSettings{}.Update()), "UpdateSettings")
		awaitWakeup(t, s, "releasing the lanes")
		others := claimed(t, s, now, "the others at once", e[1], e[2])
		// Contract: ordering applies to the events accepted after it is
		// set, behind those of the lane still unfinished.
		must(t, s.UpdateSettings(ctx(t), w.ID, hookd.WebhookSettings{Ordering: hookd.OrderWebhook}.Update()), "UpdateSettings")
		e = events(t, s, 2, nil)
		claimed(t, s, now, "ordered again, behind those in flight")
		for _, d := range append(head, others...) {
			succeed(t, s, d, now)
		}
		claimed(t, s, now, "ordered again", e[0])
	})

	t.Run("released while disabled, they stay parked", func(t *testing.T) {
		s := open(t)
		w := ordered(t, s, "w", hookd.OrderWebhook)
		e := events(t, s, 2, nil)
		_, err := s.UpdateWebhook(ctx(t), w.ID, hookd.WebhookUpdate{Disabled: ptr(true)})
		must(t, err, "UpdateWebhook")
		must(t, s.UpdateSettings(ctx(t), w.ID, hookd.WebhookSettings{}.Update()), "UpdateSettings")
		_, err = s.UpdateWebhook(ctx(t), w.ID, hookd.WebhookUpdate{Disabled: ptr(false)})
		must(t, err, "UpdateWebhook")
		claimed(t, s, s.clock.Now().Add(time.Minute), "enabled", e[0], e[1])
	})
}

// claimedWebhook is the id of the only webhook of s.
func claimedWebhook(t *testing.T, s *testStore) int64 {
	t.Helper()
	hooks, err := s.ListWebhooks(ctx(t), hookd.WebhookFilter{})
	must(t, err, "ListWebhooks")
	if len(hooks) != 1 {
		t.Fatalf("%d webhooks, want 1", len(hooks))
	}
	return hooks[0].ID
}

// LanesAcrossStores checks ordered lanes with two stores on one database
// (two processes), or one store twice: publishers and claimers work
// through both at once, each lane's events published one after the other,
// and each delivery claimed is completed at once. A lane never has two
// deliveries leased at once, each is claimed after the one before it
// succeeded, and none is left behind (a lane left without a head would
// never finish). clock is both stores' clock; it does not move, so no
// lease expires.
func LanesAcrossStores(t *testing.T, a, b hookd.Store, clock *clocktest.Clock) {
	const lanes, perLane, claimers = 8, 25, 4
	stores := []hookd.Store{a, b}
	w := createWebhook(t, a, newWebhook("lanes", assetAdded))
	publish(t, b, newEvent(userAdded, nil, nil)) // b's subscriptions, built before the setting, must see it
	must(t, a.UpdateSettings(ctx(t), w.ID, hookd.WebhookSettings{Ordering: "data.lane"}.Update()), "UpdateSettings")

	var (
		mu        sync.Mutex
		next      [lanes]int  // the sequence number each lane expects next
		inFlight  [lanes]bool // a delivery of the lane is leased
		delivered int
		busy      int // claimers between a claim and the completion of what it claimed
		published sync.WaitGroup
	)
	for lane := range lanes {
		published.Go(func() {
			for i := range perLane {
				e := newEvent(assetAdded, nil, nil)
				e.Data = json.RawMessage(fmt.Sprintf(`{"lane": %d, "seq": %d}`, lane, i))
				if _, err := stores[(lane+i)%2].PublishEvents(context.Background(), []*hookd.Event{e}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { published.Wait(); close(done) }()

	var claiming sync.WaitGroup
	for c := range claimers {
		claiming.Go(func() {
			s := stores[c%2]
			idle := 0 // claims in a row that found nothing though nothing was in flight and every event was published
			for n := 0; ; n++ {
				worker := fmt.Sprint("c", c, "-", n)
				select {
				case <-done:
					mu.Lock()
					quiet := busy == 0
					mu.Unlock()
					if quiet {
						idle++
					}
				default:
				}
				mu.Lock()
				busy++
				mu.Unlock()
				ds, err := Deliveries(s.Claim(context.Background(), hookd.ClaimRequest{Worker: worker, Limit: 5, Lease: lease, Workers: Workers}))
				if err != nil {
					t.Error(err)
					return
				}
				if len(ds) > 0 {
					idle = 0
				}
				mu.Lock()
				for _, d := range ds {
					var v struct{ Lane, Seq int }
					if err := json.Unmarshal(d.Event.Data, &v); err != nil {
						t.Error(err)
					}
					if inFlight[v.Lane] || v.Seq != next[v.Lane] {
						t.Errorf("lane %d: claimed seq %d, want %d (one in flight: %v)", v.Lane, v.Seq, next[v.Lane], inFlight[v.Lane])
					}
					inFlight[v.Lane] = true
				}
				// Counted before Complete (a lane's next is not claimable
				// before it commits): a claim of the next before here,
				// while this one is surely leased, is what fails.
				var results []hookd.AttemptResult
				for _, d := range ds {
					var v struct{ Lane, Seq int }
					json.Unmarshal(d.Event.Data, &v)
					inFlight[v.Lane] = false
					next[v.Lane]++
					delivered++
					results = append(results, hookd.AttemptResult{DeliveryID: d.ID, WebhookID: d.WebhookID, Worker: worker,
						Attempt: 1, At: clock.Now(), Success: true, HTTPStatus: 200})
				}
				all := delivered == lanes*perLane
				mu.Unlock()
				err = s.Complete(context.Background(), results)
				mu.Lock()
				busy--
				mu.Unlock()
				if err != nil {
					t.Error(err)
					return
				}
				if all || t.Failed() {
					return
				}
				if idle > 100 {
					mu.Lock()
					t.Errorf("nothing more to claim with %d of %d delivered: %v", delivered, lanes*perLane, next)
					mu.Unlock()
					return
				}
			}
		})
	}
	claiming.Wait()
	published.Wait()
	equal(t, "delivered", delivered, lanes*perLane)
}
