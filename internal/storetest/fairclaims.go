package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/clocktest"
)

// testFairClaims checks that Claim shares the workers out among webhooks
// (hookd.PlanClaim): each within its share, its throttle and its circuit,
// round robin, a disabled webhook left out.
func testFairClaims(t *testing.T, open opener) {
	// queue creates a webhook named name with n deliveries due now.
	queue := func(t *testing.T, s *testStore, name string, n int) *hookd.Webhook {
		t.Helper()
		w := createWebhook(t, s, newWebhook(name, assetAdded))
		for range n {
			must(t, s.PublishTo(ctx(t), w.ID, newEvent(assetAdded, nil, nil)), "PublishTo")
		}
		return w
	}
	// perWebhook counts the claimed deliveries of each webhook.
	perWebhook := func(ds []*hookd.Delivery) map[int64]int {
		out := map[int64]int{}
		for _, d := range ds {
			out[d.WebhookID]++
		}
		return out
	}

	t.Run("share", func(t *testing.T) {
		s := open(t)
		a := queue(t, s, "a", 6)
		now := s.clock.Now()
		// 8 workers: the default share is 2
		ds := claimFor(t, s, now, "first", 8, 8)
		equal(t, "claimed within the share", len(ds), hookd.DefaultShare(8))
		equal(t, "claimed at the share", len(claimFor(t, s, now, "second", 8, 8)), 0)
		must(t, s.UpdateSettings(ctx(t), a.ID, hookd.WebhookSettings{MaxInFlight: 3}.Update()), "UpdateSettings")
		equal(t, "claimed with max_in_flight 3", len(claimFor(t, s, now, "third", 8, 8)), 1)
		// an attempt that ends frees its place
		r := result(ds[0], now, true, 200)
		r.Worker = "first"
		complete(t, s, r)
		equal(t, "claimed after an attempt ended", len(claimFor(t, s, now, "fourth", 8, 8)), 1)
	})

	t.Run("a claim tells the share that holds deliveries back", func(t *testing.T) {
		s := open(t)
		a := queue(t, s, "a", 6)
		s.clock.Set(s.clock.Now())
		claim := func(worker string) hookd.Claimed {
			t.Helper()
			c, err := s.Claim(ctx(t), hookd.ClaimRequest{Worker: worker, Limit: 8, Lease: lease, Workers: 8})
			must(t, err, "Claim")
			return c
		}
		c := claim("first")
		equal(t, "claimed", len(c.Deliveries), 2)
		equal(t, "HeldShare with 4 left", c.HeldShare, 2)
		equal(t, "HeldShare of a claim that found the share taken", claim("second").HeldShare, 2)
		must(t, s.UpdateSettings(ctx(t), a.ID, hookd.WebhookSettings{MaxInFlight: 8}.Update()), "UpdateSettings")
		c = claim("third")
		equal(t, "claimed with max_in_flight 8", len(c.Deliveries), 4)
		equal(t, "HeldShare with nothing left due", c.HeldShare, 0)

		// A claim that takes as many as its limit, the webhook's whole
		// share, still sees that more are due.
		b := queue(t, s, "b", 6)
		must(t, s.UpdateSettings(ctx(t), b.ID, hookd.WebhookSettings{MaxInFlight: 4}.Update()), "UpdateSettings")
		c, err := s.Claim(ctx(t), hookd.ClaimRequest{Worker: "fourth", Limit: 4, Lease: lease, Workers: 8})
		must(t, err, "Claim")
		equal(t, "claimed up to the limit", len(c.Deliveries), 4)
		equal(t, "HeldShare of a claim that took its limit", c.HeldShare, 4)
	})

	t.Run("a claim tells the webhooks its windows held back", func(t *testing.T) {
		s := open(t)
		a, b := queue(t, s, "a", 6), queue(t, s, "b", 6)
		s.clock.Set(s.clock.Now())
		// 8 workers: shares of 2; a's window is 1, b's its share.
		windows := windowsOf{a.ID: 1}
		c, err := s.Claim(ctx(t), hookd.ClaimRequest{Worker: "first", Limit: 8, Lease: lease, Workers: 8, Windows: windows})
		must(t, err, "Claim")
		equal(t, "claimed of a", perWebhook(c.Deliveries)[a.ID], 1)
		equal(t, "claimed of b", perWebhook(c.Deliveries)[b.ID], 2)
		if len(c.HeldBack) == 0 || slices.ContainsFunc(c.HeldBack, func(id int64) bool { return id != a.ID }) {
			t.Errorf("HeldBack %v, want a (%d) alone: b is held by its share", c.HeldBack, a.ID)
		}
		equal(t, "HeldShare", c.HeldShare, 1)
	})

	t.Run("a claim tells the windows which receivers are failing", func(t *testing.T) {
		s := open(t)
		healthy, failing, unknown := queue(t, s, "healthy", 2), queue(t, s, "failing", 2), queue(t, s, "unknown", 2)
		now := s.clock.Now()
		first := claimFor(t, s, now, "first", 2, 8) // one of healthy and one of failing: never served, by id
		deepEqual(t, "first claim", perWebhook(first), map[int64]int{healthy.ID: 1, failing.ID: 1})
		for _, d := range first {
			r := retry(d, now, now.Add(time.Hour))
			if d.WebhookID == healthy.ID {
				r = result(d, now, true, 200)
			}
			r.Worker = "first"
			complete(t, s, r)
		}
		windows := &askedWindows{}
		_, err := s.Claim(ctx(t), hookd.ClaimRequest{Worker: "second", Limit: 8, Lease: lease, Workers: 8, Windows: windows})
		must(t, err, "Claim")
		deepEqual(t, "failing told the windows", windows.failing, map[int64]bool{
			healthy.ID: false, failing.ID: true, unknown.ID: false})
	})

	t.Run("expired leases free the share", func(t *testing.T) {
		s := open(t)
		queue(t, s, "a", 6)
		now := s.clock.Now()
		equal(t, "claimed", len(claimFor(t, s, now, "dead", 8, 8)), 2)
		equal(t, "claimed before the leases end", len(claimFor(t, s, now.Add(lease-time.Millisecond), "w", 8, 8)), 0)
		equal(t, "claimed once they ended", len(claimFor(t, s, now.Add(lease), "w", 8, 8)), 2)
	})

	t.Run("round robin", func(t *testing.T) {
		s := open(t)
		a, b, c := queue(t, s, "a", 4), queue(t, s, "b", 4), queue(t, s, "c", 4)
		now := s.clock.Now()
		// one each, never served first, then by id
		for i, want := range []*hookd.Webhook{a, b, c, a, b} {
			now = now.Add(time.Millisecond)
			ds := claimFor(t, s, now, fmt.Sprint("one-", i), 1, Workers)
			if len(ds) != 1 || ds[0].WebhookID != want.ID {
				t.Fatalf("claim %d: %v, want one of webhook %d", i, perWebhook(ds), want.ID)
			}
		}
		// a claim of 4 spreads over the three: c (served least recently)
		// has two
		now = now.Add(time.Millisecond)
		got := perWebhook(claimFor(t, s, now, "four", 4, Workers))
		deepEqual(t, "claim of 4", got, map[int64]int{a.ID: 1, b.ID: 1, c.ID: 2})
	})

	t.Run("a webhook at its share does not hold up the others", func(t *testing.T) {
		s := open(t)
		queue(t, s, "slow", 50)
		now := s.clock.Now()
		equal(t, "claimed of the slow one", len(claimFor(t, s, now, "slow", 8, 8)), 2)
		fast := queue(t, s, "fast", 3)
		deepEqual(t, "claimed", perWebhook(claimFor(t, s, now, "fast", 8, 8)), map[int64]int{fast.ID: 2})
	})

	t.Run("throttle", func(t *testing.T) {
		s := open(t)
		w := queue(t, s, "throttled", 20)
		must(t, s.UpdateSettings(ctx(t), w.ID, hookd.WebhookSettings{MaxPerSecond: 10}.Update()), "UpdateSettings")
		t0 := s.clock.Now()
		// 10 a second: one attempt every 100 ms, however many workers are idle
		equal(t, "claimed at first", len(claimFor(t, s, t0, "w0", 8, Workers)), 1)
		drainWakeup(s)
		equal(t, "claimed at once again", len(claimFor(t, s, t0, "w1", 8, Workers)), 0)
		// the claim held the webhook back: a wakeup comes when it may go on
		awaitWakeup(t, s, "a claim held a throttled webhook back")
		next := t0.Add(100*time.Millisecond - hookd.ThrottleSlack)
		equal(t, "claimed before the next slot", len(claimFor(t, s, next.Add(-time.Millisecond), "w2", 8, Workers)), 0)
		equal(t, "claimed at the next slot", len(claimFor(t, s, next, "w3", 8, Workers)), 1)
		// a claim a little late keeps the schedule: 100 ms on, not 110
		equal(t, "claimed 10 ms late", len(claimFor(t, s, next.Add(110*time.Millisecond), "w4", 8, Workers)), 1)
		equal(t, "claimed at the slot after", len(claimFor(t, s, next.Add(200*time.Millisecond), "w5", 8, Workers)), 1)
		// over a second, ten
		sent := 0
		from := next.Add(300 * time.Millisecond)
		for at := from; at.Before(from.Add(time.Second)); at = at.Add(10 * time.Millisecond) {
			sent += len(claimFor(t, s, at, "loop", 8, Workers))
		}
		equal(t, "claimed in a second", sent, 10)
	})

	t.Run("circuit", func(t *testing.T) {
		p := hookd.DefaultCircuitPolicy
		s := open(t)
		w := queue(t, s, "flaky", 5)
		t0 := s.clock.Now()
		d := claimFor(t, s, t0, "suite", 1, Workers)[0]
		// failures one a second open the circuit; each retries a second later
		for i := range p.Failures {
			at := t0.Add(time.Duration(i) * time.Second)
			s.clock.Set(at)
			r := retry(d, at, at.Add(time.Second))
			r.Worker = ""
			complete(t, s, r)
		}
		opened := t0.Add(time.Duration(p.Failures-1) * time.Second)
		equal(t, "claimed while open", len(claimFor(t, s, opened.Add(p.Cooldown-time.Millisecond), "open", 8, Workers)), 0)
		probe := claimFor(t, s, opened.Add(p.Cooldown), "probe", 8, Workers)
		equal(t, "claimed once the cool-down is over (the probe)", len(probe), 1)
		equal(t, "claimed while the probe is out", len(claimFor(t, s, opened.Add(p.Cooldown), "more", 8, Workers)), 0)
		// the probe lost (its worker died): another goes once its lease ends
		at := opened.Add(p.Cooldown + lease)
		second := claimFor(t, s, at, "second", 8, Workers)
		equal(t, "claimed once the probe is lost", len(second), 1)
		// its success closes the circuit: the rest flows
		complete(t, s, hookd.AttemptResult{DeliveryID: second[0].ID, WebhookID: w.ID, Worker: "second",
			Attempt: second[0].Attempts + 1, At: at, Success: true, HTTPStatus: 200})
		equal(t, "claimed once closed", len(claimFor(t, s, at, "rest", 8, Workers)), 4)
	})

	t.Run("disabled webhooks are not claimed", func(t *testing.T) {
		s := open(t)
		off, on := queue(t, s, "off", 3), queue(t, s, "on", 1)
		_, err := s.UpdateWebhook(ctx(t), off.ID, hookd.WebhookUpdate{Disabled: ptr(true)})
		must(t, err, "UpdateWebhook")
		deepEqual(t, "claimed", perWebhook(claimFor(t, s, s.clock.Now(), "w", 8, Workers)), map[int64]int{on.ID: 1})
	})
}

// claimFor claims at now, as worker, up to limit deliveries for a
// dispatcher of workers.
func claimFor(t *testing.T, s *testStore, now time.Time, worker string, limit, workers int) []*hookd.Delivery {
	t.Helper()
	s.clock.Set(now)
	ds, err := Deliveries(s.Claim(s.ctx, hookd.ClaimRequest{Worker: worker, Limit: limit, Lease: lease, Workers: workers}))
	must(t, err, "Claim")
	return ds
}

// ShareAcrossStores checks that a webhook's share holds across two stores
// on one database (two processes): claims through both, at once, lease no
// more than the share. clock is both stores' clock.
func ShareAcrossStores(t *testing.T, a, b hookd.Store, clock *clocktest.Clock) {
	w := createWebhook(t, a, newWebhook("shared", assetAdded))
	for range 20 {
		must(t, a.PublishTo(ctx(t), w.ID, newEvent(assetAdded, nil, nil)), "PublishTo")
	}
	const workers = 16 // a share of 4
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		claimed int
	)
	for i := range 16 {
		s := []hookd.Store{a, b}[i%2]
		wg.Go(func() {
			ds, err := Deliveries(s.Claim(context.Background(), hookd.ClaimRequest{
				Worker: fmt.Sprint("w", i), Limit: 3, Lease: lease, Workers: workers,
			}))
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			claimed += len(ds)
			mu.Unlock()
		})
	}
	wg.Wait()
	// A claim that finds the webhook locked by another leaves it, so the
	// concurrent claims may take less than the share, never more; one made
	// after them takes the rest.
	if claimed > hookd.DefaultShare(workers) {
		t.Errorf("claimed through both stores at once: %d, more than the share of %d", claimed, hookd.DefaultShare(workers))
	}
	ds, err := Deliveries(a.Claim(ctx(t), hookd.ClaimRequest{Worker: "after", Limit: 10, Lease: lease, Workers: workers}))
	must(t, err, "Claim")
	equal(t, "claimed through both stores", claimed+len(ds), hookd.DefaultShare(workers))
	// the leases over, the share is free again, through either store
	clock.Advance(lease)
	ds, err = Deliveries(b.Claim(ctx(t), hookd.ClaimRequest{Worker: "late", Limit: 10, Lease: lease, Workers: workers}))
	must(t, err, "Claim")
	equal(t, "claimed once the leases ended", len(ds), hookd.DefaultShare(workers))
}

// BenchmarkFairClaim measures a claim where it costs most: one webhook
// with 100,000 due deliveries, at its share, and 1,000 other webhooks with
// due deliveries. Each claim takes 32 (one of each of 32 webhooks, least
// recently served first) and the deliveries are put back, due, between
// claims (not timed), so every claim finds the same queue.
func BenchmarkFairClaim(b *testing.B, s hookd.Store) {
	ctx := context.Background()
	const workers = 32 // a share of 8
	busy := &hookd.Webhook{Name: "busy", HTTPURL: "http://x", HTTPMethod: "POST", TriggerEvents: []string{assetAdded}}
	if err := s.CreateWebhook(ctx, busy, ""); err != nil {
		b.Fatal(err)
	}
	publishN := func(name string, n int) {
		for left := n; left > 0; left -= 1000 {
			evs := make([]*hookd.Event, min(left, 1000))
			for i := range evs {
				evs[i] = &hookd.Event{Event: name}
			}
			if _, err := s.PublishEvents(ctx, evs); err != nil {
				b.Fatal(err)
			}
		}
	}
	publishN(assetAdded, 100_000)
	ds, err := Deliveries(s.Claim(ctx, hookd.ClaimRequest{Worker: "busy", Limit: 32, Lease: time.Hour, Workers: workers}))
	if err != nil || len(ds) != hookd.DefaultShare(workers) {
		b.Fatalf("claim of the busy webhook: %d, %v", len(ds), err)
	}
	for i := range 1000 {
		w := &hookd.Webhook{Name: fmt.Sprint("w", i), HTTPURL: "http://x", HTTPMethod: "POST", TriggerEvents: []string{userAdded}}
		if err := s.CreateWebhook(ctx, w, ""); err != nil {
			b.Fatal(err)
		}
	}
	publishN(userAdded, 2) // 2 deliveries to each of the 1,000
	claimed := 0
	b.ResetTimer()
	for b.Loop() {
		ds, err := Deliveries(s.Claim(ctx, hookd.ClaimRequest{Worker: "w", Limit: 32, Lease: time.Hour, Workers: workers}))
		if err != nil {
			b.Fatal(err)
		}
		claimed += len(ds)
		b.StopTimer()
		now := hookd.SystemClock.Now()
		rs := make([]hookd.AttemptResult, len(ds))
		for i, d := range ds {
			if d.WebhookID == busy.ID {
				b.Fatal("claimed a delivery of the webhook at its share")
			}
			rs[i] = hookd.AttemptResult{DeliveryID: d.ID, WebhookID: d.WebhookID, Worker: "w", At: now,
				HTTPStatus: 404, ErrorClass: hookd.ClassStatus, NextAttemptAt: &now}
		}
		if err := s.Complete(ctx, rs); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(claimed)/float64(b.N), "deliveries/claim")
}

// askedWindows is a hookd.Windows that gives every webhook its share and
// records whether it was told each receiver is failing.
type askedWindows struct{ failing map[int64]bool }

func (w *askedWindows) Sizes(asks []hookd.WindowAsk) []int {
	if w.failing == nil {
		w.failing = map[int64]bool{}
	}
	out := make([]int, len(asks))
	for i, a := range asks {
		w.failing[a.WebhookID], out[i] = a.Failing, a.Share
	}
	return out
}

// windowsOf is a hookd.Windows of fixed sizes, a webhook not listed at its
// share.
type windowsOf map[int64]int

func (w windowsOf) Sizes(asks []hookd.WindowAsk) []int {
	out := make([]int, len(asks))
	for i, a := range asks {
		out[i] = a.Share
		if n, ok := w[a.WebhookID]; ok {
			out[i] = n
		}
	}
	return out
}
