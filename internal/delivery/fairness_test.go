package delivery

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/postgres/pgtest"
	"github.com/hookd/hookd/internal/sqlite/sqlitetest"
	"github.com/hookd/hookd/internal/storeopt"
)

// neverOpen keeps circuits closed, so that what these tests see is the
// fair share and the throttle alone.
var neverOpen = hookd.CircuitPolicy{Failures: 0, Cooldown: time.Second, MaxCooldown: time.Second}

// fairBackends runs test against each store, opened with neverOpen.
func fairBackends(t *testing.T, test func(t *testing.T, st hookd.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		test(t, sqlitetest.Open(t, storeopt.WithCircuitPolicy(neverOpen)))
	})
	t.Run("postgres", func(t *testing.T) {
		test(t, pgtest.Open(t, storeopt.WithCircuitPolicy(neverOpen)))
	})
}

// arrivals is a receiver that answers 204 at once and notes when each
// event (by its "n") arrived.
type arrivals struct {
	*httptest.Server
	mu sync.Mutex
	at map[int]time.Time
}

func newArrivals(t *testing.T) *arrivals {
	a := &arrivals{at: map[int]time.Time{}}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		var body struct {
			Data struct{ N int } `json:"data"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("decoding a delivery: %v", err)
		}
		a.mu.Lock()
		if _, seen := a.at[body.Data.N]; !seen {
			a.at[body.Data.N] = now
		}
		a.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(a.Close)
	return a
}

func (a *arrivals) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.at)
}

// times returns the arrival times, in order.
func (a *arrivals) times() []time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]time.Time, 0, len(a.at))
	for _, at := range a.at {
		out = append(out, at)
	}
	slices.SortFunc(out, time.Time.Compare)
	return out
}

// hanging is a receiver that accepts and never answers (until the test
// ends); it calls arrived, if not nil, with each request.
func hanging(t *testing.T, arrived func()) *httptest.Server {
	end := make(chan struct{})
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if arrived != nil {
			arrived()
		}
		select {
		case <-r.Context().Done():
		case <-end:
		}
	}))
	t.Cleanup(func() {
		close(end)
		s.Close()
	})
	return s
}

// hangingHooks creates count webhooks of ASSET_ADDED, each on a receiver
// of its own that never answers, and returns a func that tells how many
// requests they got in all and the most one got.
func hangingHooks(t *testing.T, st hookd.Store, count int) (total func() (n, most int)) {
	t.Helper()
	var mu sync.Mutex
	requests := map[string]int{} // by receiver
	for i := range count {
		name := fmt.Sprint("hanging-", i)
		rc := hanging(t, func() {
			mu.Lock()
			requests[name]++
			mu.Unlock()
		})
		createHook(t, st, name, rc.URL, "ASSET_ADDED")
	}
	return func() (n, most int) {
		mu.Lock()
		defer mu.Unlock()
		for _, k := range requests {
			n, most = n+k, max(most, k)
		}
		return n, most
	}
}

// startBesideHanging starts a dispatcher of workers workers on st whose
// attempts time out after 30 s: longer than a test beside hanging
// receivers waits, so no hanging attempt ends before the test does.
func startBesideHanging(t *testing.T, st hookd.Store, workers int) {
	t.Helper()
	startDispatcher(t, Config{
		Store:         st,
		Sender:        NewSender(SenderConfig{Timeout: 30 * time.Second, AllowPrivate: loopback, Concurrency: workers}),
		Policy:        fastPolicy(),
		Concurrency:   workers,
		ShutdownGrace: 100 * time.Millisecond, // the hanging attempts are cancelled at the end, not awaited
	})
}

func createHook(t *testing.T, st hookd.Store, name, url, event string) *hookd.Webhook {
	t.Helper()
	w := &hookd.Webhook{Name: name, HTTPURL: url, HTTPMethod: http.MethodPost, TriggerEvents: []string{event}}
	if err := st.CreateWebhook(context.Background(), w, ""); err != nil {
		t.Fatal(err)
	}
	return w
}

func publishN(t *testing.T, st hookd.Store, event string, from, n int) {
	t.Helper()
	evs := make([]*hookd.Event, n)
	for i := range evs {
		evs[i] = &hookd.Event{Event: event, Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, from+i))}
	}
	if _, err := st.PublishEvents(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
}

// backlogFor publishes n events to a new webhook alone, on a receiver of
// its own, before any dispatcher runs.
func backlogFor(t *testing.T, st hookd.Store, name string, n int) *arrivals {
	t.Helper()
	rc := newArrivals(t)
	createHook(t, st, name, rc.URL, "ASSET_ADDED")
	publishN(t, st, "ASSET_ADDED", 0, n)
	return rc
}

// TestFairShareThroughThePipeline: with 8 workers and a 2 s timeout, 120
// deliveries to three receivers that never answer hold at most a share (2)
// of the workers each, so a healthy webhook's deliveries, published one by
// one meanwhile, wait for no attempt slot of theirs: each is received
// within well under one attempt's timeout. Oldest first over the whole
// queue, the healthy ones would wait about 30 s (120 / 8 × 2 s).
func TestFairShareThroughThePipeline(t *testing.T) {
	fairBackends(t, func(t *testing.T, st hookd.Store) {
		for i := range 3 {
			createHook(t, st, fmt.Sprint("hanging-", i), hanging(t, nil).URL, "ASSET_ADDED")
		}
		healthy := newArrivals(t)
		createHook(t, st, "healthy", healthy.URL, "USER_ADDED")
		startDispatcher(t, Config{
			Store:       st,
			Sender:      NewSender(SenderConfig{Timeout: 2 * time.Second, AllowPrivate: loopback, Concurrency: 8}),
			Policy:      fastPolicy(),
			Concurrency: 8,
		})
		publishN(t, st, "ASSET_ADDED", 0, 40) // 40 deliveries to each hanging receiver

		const healthyEvents = 30
		accepted := make([]time.Time, healthyEvents)
		for i := range healthyEvents {
			accepted[i] = time.Now()
			publishN(t, st, "USER_ADDED", i, 1)
			time.Sleep(100 * time.Millisecond)
		}
		waitFor(t, 20*time.Second, "the healthy deliveries", func() bool { return healthy.count() == healthyEvents })
		healthy.mu.Lock()
		latencies := make([]time.Duration, healthyEvents)
		for i := range latencies {
			latencies[i] = healthy.at[i].Sub(accepted[i])
		}
		healthy.mu.Unlock()
		slices.Sort(latencies)
		p50, p99 := latencies[len(latencies)/2], latencies[len(latencies)*99/100]
		t.Logf("healthy webhook beside 120 hanging deliveries: accept -> receive p50 %v, p99 %v", p50, p99)
		if p99 >= 3*time.Second {
			t.Errorf("p99 %v, want under 3 s", p99)
		}
	})
}

// TestFairThrottleThroughThePipeline: a webhook with max_per_second 20 and a
// backlog receives its deliveries no faster than 20 a second (plus 10 %),
// measured from the receiver's arrival times, while the dispatcher's
// workers would allow far more. The rate within 1 % is hookd.TestThrottleRate's,
// on a clock the test moves; here, on a busy machine, claims that wake more
// than the throttle's slack late lose their slot, so the floor is loose.
func TestFairThrottleThroughThePipeline(t *testing.T) {
	fairBackends(t, func(t *testing.T, st hookd.Store) {
		const rate, deliveries = 20, 50
		rc := newArrivals(t)
		w := createHook(t, st, "throttled", rc.URL, "ASSET_ADDED")
		if err := st.UpdateSettings(context.Background(), w.ID, hookd.WebhookSettings{MaxPerSecond: rate}.Update()); err != nil {
			t.Fatal(err)
		}
		publishN(t, st, "ASSET_ADDED", 0, deliveries)
		startDispatcher(t, Config{Store: st, Sender: testSender(2 * time.Second), Policy: fastPolicy(), Concurrency: 8})
		waitFor(t, 10*time.Second, "the throttled deliveries", func() bool { return rc.count() == deliveries })
		times := rc.times()
		// The first attempt opens the schedule; the others follow it.
		got := float64(deliveries-1) / times[deliveries-1].Sub(times[0]).Seconds()
		t.Logf("%d deliveries at %.2f a second (max_per_second %d)", deliveries, got, rate)
		if got > rate*1.1 || got < rate*0.6 {
			t.Errorf("rate %.2f a second, want %d: no more than 10 %% above, and not far below", got, rate)
		}
	})
}

// TestFairShareDrainsABacklog: a webhook alone with a backlog goes on at
// its share (2 of 8 workers) as its attempts end, without waiting for the
// dispatcher's next poll (1 s, which would take 20 s here).
func TestFairShareDrainsABacklog(t *testing.T) {
	fairBackends(t, func(t *testing.T, st hookd.Store) {
		const deliveries = 40
		rc := backlogFor(t, st, "backlog", deliveries)
		startDispatcher(t, Config{Store: st, Sender: testSender(2 * time.Second), Policy: fastPolicy(), Concurrency: 8})
		waitFor(t, 5*time.Second, "the backlog", func() bool { return rc.count() == deliveries })
	})
}

// TestFairShareFreedWhenAnAttemptEnds: an attempt that has ended frees its
// webhook's share at once, before its result is recorded. With results
// recorded only once an hour (FlushInterval), a webhook with a share of 1
// still receives its whole backlog: counted until recorded, its one slot
// would stay taken after the first attempt.
func TestFairShareFreedWhenAnAttemptEnds(t *testing.T) {
	fairBackends(t, func(t *testing.T, st hookd.Store) {
		const deliveries = 20
		rc := backlogFor(t, st, "share of one", deliveries)
		startDispatcher(t, Config{Store: st, Sender: testSender(2 * time.Second), Policy: fastPolicy(),
			Concurrency: 4, BatchSize: 1000, FlushInterval: time.Hour})
		waitFor(t, 30*time.Second, "the backlog", func() bool { return rc.count() == deliveries })
	})
}

// stalledCompletes is a store whose Complete waits until the test ends.
type stalledCompletes struct {
	hookd.Store
	release chan struct{}
}

func (s stalledCompletes) Complete(ctx context.Context, results []hookd.AttemptResult) error {
	select {
	case <-s.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	return s.Store.Complete(ctx, results)
}

// TestFairShareFreeWhileRecorded: a webhook's successful attempts free
// its share while their results are being recorded, not only once they
// are. With a share of 1 and a Complete that does not return, the whole
// backlog still arrives: counted until the Complete began, the one slot
// would stay taken by the result being recorded.
func TestFairShareFreeWhileRecorded(t *testing.T) {
	fairBackends(t, func(t *testing.T, st hookd.Store) {
		const deliveries = 5
		rc := backlogFor(t, st, "share of one", deliveries)
		stalled := stalledCompletes{Store: st, release: make(chan struct{})}
		startDispatcher(t, Config{Store: stalled, Sender: testSender(2 * time.Second), Policy: fastPolicy(),
			Concurrency: 4, BatchSize: 1})
		t.Cleanup(func() { close(stalled.release) }) // before the dispatcher stops
		waitFor(t, 30*time.Second, "the backlog", func() bool { return rc.count() == deliveries })
	})
}

// TestWindowsKeepWorkersFromHangingReceivers: 24 receivers that never
// answer, with 10 deliveries each, beside a healthy webhook, with 32
// workers. By shares alone (8 each) the hanging ones would take every
// worker until their attempts time out (30 s here), and the healthy
// webhook's deliveries would wait that long. With windows, a webhook whose
// receiver has not answered has one attempt in flight, and such webhooks
// together hold at most half the workers: 16 of the 24 get one attempt
// each, and the healthy webhook, which answered once, keeps the rest.
func TestWindowsKeepWorkersFromHangingReceivers(t *testing.T) {
	fairBackends(t, func(t *testing.T, st hookd.Store) {
		const workers, hangingCount, healthyEvents = 32, 24, 20
		healthy := newArrivals(t)
		createHook(t, st, "healthy", healthy.URL, "USER_ADDED")
		startBesideHanging(t, st, workers)
		publishN(t, st, "USER_ADDED", 0, 1)
		waitFor(t, 10*time.Second, "the healthy webhook's first delivery", func() bool { return healthy.count() == 1 })

		total := hangingHooks(t, st, hangingCount)
		publishN(t, st, "ASSET_ADDED", 0, 10)
		waitFor(t, 10*time.Second, "the hanging receivers' requests", func() bool { n, _ := total(); return n >= workers/2 })

		for i := range healthyEvents {
			publishN(t, st, "USER_ADDED", 1+i, 1)
		}
		waitFor(t, 20*time.Second, "the healthy deliveries beside the hanging receivers",
			func() bool { return healthy.count() == 1+healthyEvents })
		if n, most := total(); n != workers/2 || most != 1 {
			t.Errorf("the hanging receivers got %d requests, at most %d each; want %d (half the workers), one each", n, most, workers/2)
		}
	})
}

// TestWindowsKeepWorkersFromSlowReceivers: 4 receivers that answer, but
// slowly (300 ms, beyond a SlowAnswer of 100 ms here), each with a
// backlog, beside a healthy webhook, with 8 workers. By shares alone (2
// each) the slow ones would hold every worker for as long as their
// backlogs last; as slow webhooks they hold at most half the workers
// together, at every moment, and the healthy webhook's deliveries go
// through the other half.
func TestWindowsKeepWorkersFromSlowReceivers(t *testing.T) {
	fairBackends(t, func(t *testing.T, st hookd.Store) {
		const workers, slowHooks, backlog, healthyEvents = 8, 4, 5, 10
		healthy := newArrivals(t)
		createHook(t, st, "healthy", healthy.URL, "USER_ADDED")
		d := newDispatcher(t, Config{
			Store:       st,
			Sender:      NewSender(SenderConfig{Timeout: 10 * time.Second, AllowPrivate: loopback, Concurrency: workers}),
			Policy:      fastPolicy(),
			Concurrency: workers,
		})
		d.windows.slowAnswer = 100 * time.Millisecond
		runDispatcher(t, d)
		publishN(t, st, "USER_ADDED", 0, 1)
		waitFor(t, 10*time.Second, "the healthy webhook's first delivery", func() bool { return healthy.count() == 1 })

		var mu sync.Mutex
		inFlight, most, answered := 0, 0, 0
		for i := range slowHooks {
			rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				inFlight++
				most = max(most, inFlight)
				mu.Unlock()
				time.Sleep(300 * time.Millisecond)
				mu.Lock()
				inFlight--
				answered++
				mu.Unlock()
				w.WriteHeader(http.StatusNoContent)
			}))
			t.Cleanup(rc.Close)
			createHook(t, st, fmt.Sprint("slow-", i), rc.URL, "ASSET_ADDED")
		}
		publishN(t, st, "ASSET_ADDED", 0, backlog)
		for i := range healthyEvents {
			publishN(t, st, "USER_ADDED", 1+i, 1)
		}
		waitFor(t, 20*time.Second, "the healthy deliveries beside the slow receivers",
			func() bool { return healthy.count() == 1+healthyEvents })
		waitFor(t, 20*time.Second, "the slow receivers' backlogs", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return answered == slowHooks*backlog
		})
		mu.Lock()
		defer mu.Unlock()
		if most > workers/2 {
			t.Errorf("the slow receivers had %d requests at once, want at most %d (half the workers)", most, workers/2)
		}
	})
}

// TestWindowsKnowFailingReceiversFromTheRecord: a dispatcher started on a
// store that recorded 24 receivers failing (after a restart, or one more
// process) holds their retries to a quarter of its workers from the
// start, so neither a healthy webhook's deliveries nor a new webhook's
// first one wait for the hanging receivers' attempts to time out (they
// would, were all the webhooks not heard from yet one pool: the 24 fill
// half the workers).
func TestWindowsKnowFailingReceiversFromTheRecord(t *testing.T) {
	fairBackends(t, func(t *testing.T, st hookd.Store) {
		const workers, hangingCount, healthyEvents = 32, 24, 20
		ctx := t.Context()
		healthy := newArrivals(t)
		createHook(t, st, "healthy", healthy.URL, "USER_ADDED")
		total := hangingHooks(t, st, hangingCount)

		// What an earlier run recorded: the healthy receiver answered, each
		// hanging one timed out, its retry due at once.
		publishN(t, st, "USER_ADDED", 0, 1)
		publishN(t, st, "ASSET_ADDED", 0, 1)
		now := time.Now()
		c, err := st.Claim(ctx, hookd.ClaimRequest{Worker: "earlier", Limit: 100, Lease: time.Minute, Workers: 100})
		if err != nil || len(c.Deliveries) != 1+hangingCount {
			t.Fatalf("claimed %d deliveries (%v), want %d", len(c.Deliveries), err, 1+hangingCount)
		}
		var results []hookd.AttemptResult
		for _, d := range c.Deliveries {
			r := hookd.AttemptResult{DeliveryID: d.ID, WebhookID: d.WebhookID, Worker: "earlier", Attempt: 1, At: now,
				Success: true, HTTPStatus: http.StatusNoContent}
			if d.Event.Event == "ASSET_ADDED" {
				r.Success, r.HTTPStatus, r.ErrorClass, r.NextAttemptAt = false, 0, hookd.ClassTimeout, &now
			}
			results = append(results, r)
		}
		if err := st.Complete(ctx, results); err != nil {
			t.Fatal(err)
		}

		startBesideHanging(t, st, workers)
		waitFor(t, 10*time.Second, "the hanging receivers' retries", func() bool { n, _ := total(); return n >= workers/4 })

		newcomer := newArrivals(t)
		createHook(t, st, "newcomer", newcomer.URL, "PROJECT_ADDED")
		publishN(t, st, "PROJECT_ADDED", 0, 1)
		for i := range healthyEvents {
			publishN(t, st, "USER_ADDED", 1+i, 1)
		}
		waitFor(t, 20*time.Second, "the healthy deliveries beside the hanging receivers",
			func() bool { return healthy.count() == healthyEvents }) // the earlier one was recorded, not sent
		waitFor(t, 20*time.Second, "the new webhook's delivery", func() bool { return newcomer.count() == 1 })
		if n, most := total(); n != workers/4 || most != 1 {
			t.Errorf("the hanging receivers got %d requests, at most %d each; want %d (a quarter of the workers), one each", n, most, workers/4)
		}
	})
}
