package delivery

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/clocktest"
	"github.com/hookd/hookd/internal/postgres/pgtest"
)

// Every claim is a lease of its own, WorkerID/<n>, and each result names the
// lease it ran under, so that a store can drop a result whose lease expired
// and was taken over (storetest Complete/StaleLease).
func TestResultsNameTheirLease(t *testing.T) {
	st := newFakeStore()
	var calls atomic.Int32
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 2 {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	st.setTarget(testTarget(rc.URL)) // webhook 5
	st.add(delivery(1, 5))
	d, err := New(Config{Store: st, Sender: NewSender(SenderConfig{Timeout: 5 * time.Second, AllowPrivate: loopback}), Policy: fastPolicy(), Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	waitFor(t, 10*time.Second, "the delivery to succeed", func() bool { return st.state(1).success })
	cancel()
	<-done

	log := st.logOf(1)
	if len(log) != 3 {
		t.Fatalf("%d attempts recorded, want 3", len(log))
	}
	seen := map[string]bool{}
	for i, r := range log {
		if !strings.HasPrefix(r.Worker, d.WorkerID()+"/") || seen[r.Worker] {
			t.Errorf("attempt %d ran under lease %q: want a lease of its own named %s/<n>", i+1, r.Worker, d.WorkerID())
		}
		seen[r.Worker] = true
	}
	if last := log[2].Worker; last != st.state(1).worker {
		t.Errorf("the last result names lease %q, the delivery was last leased to %q", last, st.state(1).worker)
	}
}

// fakeLeader grants the lead when lead is true, and counts.
type fakeLeader struct {
	lead, fail      atomic.Bool
	tries, releases atomic.Int32
	names           sync.Map
}

func (l *fakeLeader) TryLead(ctx context.Context, name string) (func(), bool, error) {
	l.tries.Add(1)
	l.names.Store(name, true)
	if l.fail.Load() {
		return nil, false, hookd.ErrUnavailable
	}
	if !l.lead.Load() {
		return nil, false, nil
	}
	return func() { l.releases.Add(1) }, true, nil
}

// Maintain runs a round only when it wins the lead for it, and releases
// the lead after the round.
func TestMaintainTakesTheLead(t *testing.T) {
	st := newFakeStore()
	leader := &fakeLeader{}
	d, err := New(Config{Store: st, Leader: leader, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		d.Maintain(ctx, 10*time.Millisecond, Retention{History: 30 * 24 * time.Hour}, 5*24*time.Hour)
		close(done)
	}()
	stop := sync.OnceFunc(func() { cancel(); <-done })
	defer stop()
	rounds := func() int {
		st.mu.Lock()
		defer st.mu.Unlock()
		return len(st.pruned)
	}

	// Another process leads, then the database is down: no round runs.
	waitFor(t, 2*time.Second, "rounds without the lead", func() bool { return leader.tries.Load() >= 3 })
	leader.fail.Store(true)
	n := leader.tries.Load()
	waitFor(t, 2*time.Second, "rounds with a failing election", func() bool { return leader.tries.Load() >= n+3 })
	if r := rounds(); r != 0 {
		t.Fatalf("%d maintenance rounds ran without the lead", r)
	}
	if leader.releases.Load() != 0 {
		t.Fatal("released a lead it never had")
	}

	// It leads: rounds run, each releasing the lead.
	leader.fail.Store(false)
	leader.lead.Store(true)
	waitFor(t, 2*time.Second, "rounds with the lead", func() bool { return rounds() >= 3 })
	stop()
	if r, rel := rounds(), int(leader.releases.Load()); rel != r {
		t.Errorf("%d rounds ran, %d released the lead", r, rel)
	}
	if _, ok := leader.names.Load(MaintenanceLeader); !ok {
		t.Errorf("the lead was not called %q", MaintenanceLeader)
	}
}

// A store that only one process uses leads every round without being told.
func TestMaintainWithoutLeaderLeads(t *testing.T) {
	st := newFakeStore() // no TryLead
	d, err := New(Config{Store: st, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	defer func() {
		cancel()
		<-done // a round that logs after the test ended is a race (it logs to t)
	}()
	go func() {
		defer close(done)
		d.Maintain(ctx, 10*time.Millisecond, Retention{History: 30 * 24 * time.Hour}, 0)
	}()
	waitFor(t, 2*time.Second, "two rounds", func() bool {
		st.mu.Lock()
		defer st.mu.Unlock()
		return len(st.pruned) >= 2
	})
}

// exclusiveStore counts the Prune calls running at once across the
// dispatchers that share it, holding each for a while so that overlaps
// would show. Its embedded Store hides TryLead, as the metrics wrapper
// does: the dispatchers get their Leader explicitly.
type exclusiveStore struct {
	hookd.Store
	running, most, rounds *atomic.Int32
}

func (s exclusiveStore) Prune(ctx context.Context, before time.Time) (int64, error) {
	n := s.running.Add(1)
	defer s.running.Add(-1)
	for {
		m := s.most.Load()
		if n <= m || s.most.CompareAndSwap(m, n) {
			break
		}
	}
	s.rounds.Add(1)
	time.Sleep(30 * time.Millisecond)
	return s.Store.Prune(ctx, before)
}

// Three processes' dispatchers on one PostgreSQL schema: maintenance runs,
// and never in two at once (TryLead's advisory lock).
func TestMaintainOneLeaderOnPostgres(t *testing.T) {
	schema := pgtest.Schema(t)
	var running, most, rounds atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 3 {
		pg := pgtest.OpenSchema(t, schema)
		d, err := New(Config{Store: exclusiveStore{pg, &running, &most, &rounds}, Leader: pg, Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() { d.Maintain(ctx, 5*time.Millisecond, Retention{History: 30 * 24 * time.Hour}, 0) })
	}
	waitFor(t, 10*time.Second, "ten maintenance rounds", func() bool { return rounds.Load() >= 10 })
	cancel()
	wg.Wait()
	t.Logf("%d maintenance rounds across 3 dispatchers, at most %d at once", rounds.Load(), most.Load())
	if most.Load() > 1 {
		t.Errorf("maintenance ran in %d dispatchers at once", most.Load())
	}
}

// fastForward makes d's store retries wait on clock instead of sleeping:
// each wait moves clock forward by its length.
func fastForward(d *Dispatcher, clock *clocktest.Clock) {
	sleep := func(ctx context.Context, wait time.Duration) error {
		clock.Advance(wait)
		return ctx.Err()
	}
	d.completer.retry.Sleep = sleep
	d.claimer.targetsRetry.Sleep = sleep
}

// A store that fails for longer than a few tries (the database restarting)
// gets the results once it is back, within their leases: the delivery is
// recorded once and not sent again.
func TestRecordingOutlastsAnOutage(t *testing.T) {
	rc := newReceiver(t, nil)
	clock := clocktest.New(time.Now())
	start := clock.Now()
	st := newFakeStore()
	st.clock = clock
	st.setTarget(testTarget(rc.URL))
	st.failCompletes = 6
	d := newDispatcher(t, Config{Store: st, Clock: clock, Sender: testSender(time.Second), Lease: 16 * time.Second, PollInterval: 20 * time.Millisecond})
	fastForward(d, clock)
	runDispatcher(t, d)
	st.add(delivery(1, 5))
	waitFor(t, 10*time.Second, "the delivery to be recorded", func() bool { return st.state(1).done })
	if log := st.logOf(1); len(log) != 1 || !log[0].Success {
		t.Fatalf("log %+v", log)
	}
	if n := len(rc.requests()); n != 1 {
		t.Errorf("receiver got %d requests, want 1", n)
	}
	// Six failures, six growing waits: 0.1 s, 0.3 s, 0.9 s, then 1 s.
	if waited := clock.Now().Sub(start); waited != 4300*time.Millisecond {
		t.Errorf("the recording waited %s in all, want 4.3s", waited)
	}
}

// A store that stays down past the leases: the batch is dropped once the
// next wait would end after its lease (a later result would be stale), and
// its delivery is left to be claimed again.
func TestRecordingGivesUpAtTheLease(t *testing.T) {
	rc := newReceiver(t, nil)
	clock := clocktest.New(time.Now())
	start := clock.Now()
	st := newFakeStore()
	st.clock = clock
	st.setTarget(testTarget(rc.URL))
	st.failCompletes = 1000
	d := newDispatcher(t, Config{Store: st, Clock: clock, Sender: testSender(time.Second), Lease: 16 * time.Second})
	fastForward(d, clock)
	stop := runDispatcher(t, d)
	st.add(delivery(1, 5))
	// Waits of 0.1, 0.3, 0.9 s, then 1 s: the one that would end past 16 s
	// is not taken, at 15.3 s.
	waitFor(t, 10*time.Second, "the recording to reach the end of the lease", func() bool {
		return clock.Now().Sub(start) >= 15*time.Second
	})
	stop()
	if waited := clock.Now().Sub(start); waited != 15300*time.Millisecond {
		t.Errorf("the recording waited %s in all, want 15.3s", waited)
	}
	if fd := st.state(1); fd.done || len(st.logOf(1)) != 0 || fd.leased.IsZero() {
		t.Errorf("delivery after the dropped batch: %+v, log %+v", fd, st.logOf(1))
	}
	if n := len(rc.requests()); n != 1 {
		t.Errorf("receiver got %d requests, want 1", n)
	}
}
