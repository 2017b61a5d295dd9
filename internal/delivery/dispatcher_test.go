package delivery

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/clocktest"
)

// testLogger writes the dispatcher's log to the test's log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// startDispatcher runs a dispatcher of cfg until the test ends (or stop is
// called) and returns stop, which cancels Run and waits for it to return:
// then every attempt has ended and its result is recorded.
func startDispatcher(t *testing.T, cfg Config) (stop func() time.Duration) {
	t.Helper()
	return runDispatcher(t, newDispatcher(t, cfg))
}

func newDispatcher(t *testing.T, cfg Config) *Dispatcher {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// runDispatcher runs d as startDispatcher does.
func runDispatcher(t *testing.T, d *Dispatcher) (stop func() time.Duration) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	var once sync.Once
	var took time.Duration
	stop = func() time.Duration {
		once.Do(func() {
			start := time.Now()
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return after cancel")
			}
			took = time.Since(start)
		})
		return took
	}
	t.Cleanup(func() { stop() })
	return stop
}

func delivery(id, webhookID int64) hookd.Delivery {
	return hookd.Delivery{
		ID:        id,
		WebhookID: webhookID,
		MessageID: fmt.Sprintf("msg_%d", id),
		Event: hookd.Event{
			ID: fmt.Sprintf("evt_%d", id), Event: "ASSET_ADDED",
			Data: json.RawMessage(`{"n":1}`), CreatedAt: hookd.SystemClock.Now(),
		},
		CreatedAt: hookd.SystemClock.Now(),
	}
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func fastPolicy() *Policy {
	return &Policy{Schedule: []time.Duration{50 * time.Millisecond, 50 * time.Millisecond, 50 * time.Millisecond}}
}

func TestDispatcherRetriesUntilSuccess(t *testing.T) {
	var calls atomic.Int32
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, "busy")
			return
		}
		io.WriteString(w, "ok")
	})
	st := newFakeStore()
	st.setTarget(testTarget(rc.URL))
	stop := startDispatcher(t, Config{
		Store:        st,
		Sender:       NewSender(SenderConfig{Timeout: 5 * time.Second, AllowPrivate: loopback}),
		Policy:       fastPolicy(),
		PollInterval: time.Hour, // retries must come due without polling or wakeups
	})
	st.add(delivery(1, 5))
	waitFor(t, 5*time.Second, "the delivery to succeed", func() bool { return st.state(1).done })
	stop()

	if fd := st.state(1); !fd.success {
		t.Fatalf("delivery ended in failure: %+v", fd)
	}
	log := st.logOf(1)
	if len(log) != 3 {
		t.Fatalf("%d attempts logged, want 3: %+v", len(log), log)
	}
	for i, r := range log {
		if r.Attempt != i+1 {
			t.Errorf("attempt %d logged as %d", i+1, r.Attempt)
		}
		if i < 2 && (r.Success || r.HTTPStatus != 503 || r.ErrorClass != hookd.ClassStatus || r.NextAttemptAt == nil || r.ResponseBody != "busy") {
			t.Errorf("attempt %d: %+v", i+1, r)
		}
	}
	if !log[2].Success || log[2].HTTPStatus != 200 || log[2].NextAttemptAt != nil {
		t.Errorf("last attempt: %+v", log[2])
	}
	reqs := rc.requests()
	if len(reqs) != 3 {
		t.Fatalf("receiver got %d requests", len(reqs))
	}
	for _, req := range reqs {
		if req.Header.Get("webhook-id") != "msg_1" {
			t.Errorf("webhook-id %q", req.Header.Get("webhook-id"))
		}
		if err := mustWebhook(t, vectorSecret).Verify(req.Body, req.Header); err != nil {
			t.Error(err)
		}
		if string(req.Body) != string(reqs[0].Body) {
			t.Error("the body changed across retries")
		}
	}
}

func TestDispatcherFinalFailure(t *testing.T) {
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) })
	st := newFakeStore()
	st.setTarget(testTarget(rc.URL))
	startDispatcher(t, Config{
		Store:  st,
		Sender: NewSender(SenderConfig{Timeout: 5 * time.Second, AllowPrivate: loopback}),
		Policy: fastPolicy(),
	})
	st.add(delivery(1, 5))
	waitFor(t, 5*time.Second, "the delivery to end", func() bool { return st.state(1).done })
	log := st.logOf(1)
	if len(log) != 4 || st.state(1).success {
		t.Fatalf("%d attempts, want 4 (1 + 3 retries)", len(log))
	}
	if log[3].NextAttemptAt != nil || log[3].Attempt != 4 {
		t.Errorf("last attempt: %+v", log[3])
	}
}

func TestDispatcherGoneDisablesWebhook(t *testing.T) {
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusGone) })
	st := newFakeStore()
	st.setTarget(testTarget(rc.URL))
	stop := startDispatcher(t, Config{Store: st, Sender: testSender(5 * time.Second)})
	st.add(delivery(1, 5))
	waitFor(t, 5*time.Second, "the delivery to end", func() bool { return st.state(1).done })
	log := st.logOf(1)
	if len(log) != 1 || !log[0].DisableWebhook || log[0].ErrorClass != hookd.ClassGone {
		t.Fatalf("log %+v", log)
	}
	// A delivery queued before the webhook was disabled is not sent, and
	// not failed: it waits. (Once a claim has run since it was queued, and
	// the dispatcher has stopped, nothing more happens to it.)
	st.add(delivery(2, 5))
	waitFor(t, 5*time.Second, "a claim after the second delivery was queued", func() bool { return st.seenByClaim(2) })
	stop()
	if fd := st.state(2); fd.done || fd.d.Attempts != 0 || len(st.logOf(2)) != 0 {
		t.Fatalf("second delivery: %+v, log %+v", fd, st.logOf(2))
	}
	if n := len(rc.requests()); n != 1 {
		t.Fatalf("receiver got %d requests, want 1", n)
	}
}

// A delivery whose webhook was disabled or deleted between its claim and
// reading the target is neither sent nor recorded: it is left to its lease
// (and the store does not claim a disabled webhook's deliveries). A
// disabled webhook's deliveries wait, and go out once it is enabled again.
func TestDispatcherMissingOrDisabledTarget(t *testing.T) {
	rc := newReceiver(t, nil)
	st := newFakeStore()
	disabled := testTarget(rc.URL)
	disabled.WebhookID = 6
	disabled.Disabled = true
	st.setTarget(disabled)
	stop := startDispatcher(t, Config{Store: st, Sender: testSender(5 * time.Second)})
	st.add(delivery(1, 404)) // no such webhook
	st.add(delivery(2, 6))
	waitFor(t, 5*time.Second, "the delivery to the missing webhook to be claimed", func() bool { return !st.state(1).leased.IsZero() })
	waitFor(t, 5*time.Second, "a claim after the delivery to the disabled webhook was queued", func() bool { return st.seenByClaim(2) })
	stop() // the attempt of delivery 1 has ended
	for id := int64(1); id <= 2; id++ {
		if fd := st.state(id); fd.done || fd.d.Attempts != 0 || len(st.logOf(id)) != 0 {
			t.Errorf("delivery %d: %+v, log %+v", id, fd, st.logOf(id))
		}
	}
	if n := len(rc.requests()); n != 0 {
		t.Fatalf("receiver got %d requests", n)
	}
	// Enabled again, the webhook gets its delivery.
	st.mu.Lock()
	st.targets[6].Disabled = false
	st.mu.Unlock()
	startDispatcher(t, Config{Store: st, Sender: testSender(5 * time.Second)})
	st.add(delivery(3, 6))
	waitFor(t, 5*time.Second, "the deliveries to the re-enabled webhook", func() bool {
		return st.state(2).done && st.state(3).done
	})
	if !st.state(2).success || len(rc.requests()) != 2 {
		t.Fatalf("delivery 2: %+v; %d requests", st.state(2), len(rc.requests()))
	}
}

// At most Concurrency attempts run at once, claims never exceed the idle
// workers, and results are recorded in batches.
func TestDispatcherConcurrencyBound(t *testing.T) {
	var cur, peak atomic.Int32
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		n := cur.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(30 * time.Millisecond)
		cur.Add(-1)
	})
	st := newFakeStore()
	st.setTarget(testTarget(rc.URL))
	const total = 40
	for i := int64(1); i <= total; i++ {
		st.add(delivery(i, 5))
	}
	startDispatcher(t, Config{Store: st, Sender: testSender(5 * time.Second), Concurrency: 4, BatchSize: 10})
	waitFor(t, 10*time.Second, "all deliveries", func() bool {
		for i := int64(1); i <= total; i++ {
			if !st.state(i).done {
				return false
			}
		}
		return true
	})
	if p := peak.Load(); p > 4 || p < 2 {
		t.Errorf("peak concurrency %d, want at most 4 (and some parallelism)", p)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, l := range st.claimLimit {
		if l > 4 || l < 1 {
			t.Errorf("claimed with limit %d, with 4 workers", l)
		}
	}
	if st.completes >= total {
		t.Errorf("%d Complete calls for %d results: not batched", st.completes, total)
	}
	if len(rc.requests()) != total {
		t.Errorf("receiver got %d requests, want %d", len(rc.requests()), total)
	}
}

// Store errors are logged and retried: a failed claim, a failed targets
// lookup (tried again while the claimed deliveries are leased) and a failed
// Complete (retried).
func TestDispatcherStoreErrors(t *testing.T) {
	rc := newReceiver(t, nil)
	st := newFakeStore()
	st.setTarget(testTarget(rc.URL))
	st.failClaims = 2
	st.failCompletes = 2
	st.failTargets = 1
	clock := clocktest.New(time.Now())
	st.clock = clock
	d := newDispatcher(t, Config{
		Store: st, Sender: testSender(time.Second), Clock: clock,
		Lease: 16 * time.Second, PollInterval: 20 * time.Millisecond,
	})
	fastForward(d, clock)
	runDispatcher(t, d)
	st.add(delivery(1, 5))
	// The targets lookup fails once: it is tried again at once, within the
	// lease.
	waitFor(t, 5*time.Second, "the delivery", func() bool { return st.state(1).done })
	if log := st.logOf(1); len(log) != 1 || !log[0].Success {
		t.Fatalf("log %+v", log)
	}
}

// On shutdown, running attempts finish and are recorded; deliveries not
// started stay queued and unleased.
func TestDispatcherShutdownFinishesAttempts(t *testing.T) {
	started := make(chan struct{}, 10)
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		time.Sleep(300 * time.Millisecond)
		io.WriteString(w, "done")
	})
	st := newFakeStore()
	st.setTarget(testTarget(rc.URL))
	for i := int64(1); i <= 5; i++ {
		st.add(delivery(i, 5))
	}
	stop := startDispatcher(t, Config{Store: st, Sender: testSender(5 * time.Second), Concurrency: 2})
	<-started
	<-started
	took := stop()
	if took < 200*time.Millisecond {
		t.Errorf("Run returned after %s, before the attempts finished", took)
	}
	var done, untouched int
	for i := int64(1); i <= 5; i++ {
		fd := st.state(i)
		switch {
		case fd.done && fd.success:
			done++
		case !fd.done && fd.leased.IsZero() && fd.d.Attempts == 0:
			untouched++
		default:
			t.Errorf("delivery %d: %+v", i, fd)
		}
	}
	if done != 2 || untouched != 3 {
		t.Errorf("%d finished, %d untouched; want 2 and 3", done, untouched)
	}
}

// Attempts still running after the grace period are cancelled and not
// recorded: hookd's shutdown does not count against the delivery's attempts
// (with a short schedule it used to fail deliveries for good). The delivery
// stays leased, to be claimed again after the lease.
func TestDispatcherShutdownGrace(t *testing.T) {
	started := make(chan struct{}, 1)
	release := make(chan struct{})
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	st := newFakeStore()
	st.setTarget(testTarget(rc.URL))
	st.add(delivery(1, 5))
	stop := startDispatcher(t, Config{Store: st, Sender: testSender(5 * time.Second), ShutdownGrace: 100 * time.Millisecond})
	<-started
	took := stop()
	if took > 2*time.Second {
		t.Errorf("Run took %s to return with a 100ms grace", took)
	}
	if log := st.logOf(1); len(log) != 0 {
		t.Fatalf("a cancelled attempt was recorded: %+v", log)
	}
	if fd := st.state(1); fd.done || fd.d.Attempts != 0 || fd.leased.IsZero() {
		t.Fatalf("delivery after shutdown: %+v", fd)
	}
}

func TestDispatcherConfig(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Error("New without a store succeeded")
	}
	if _, err := New(Config{Store: newFakeStore(), Lease: 20 * time.Second}); err == nil {
		t.Error("a 20s lease with a 15s timeout was accepted")
	}
	d, err := New(Config{Store: newFakeStore()})
	if err != nil {
		t.Fatal(err)
	}
	if d.WorkerID() == "" || d.concurrency != DefaultConcurrency || d.claimer.lease != DefaultLease || d.sender.Timeout() != DefaultTimeout {
		t.Errorf("defaults: %+v", d)
	}
	if d.policy.MaxAttempts() != 8 {
		t.Error("default policy")
	}
}

func TestMaintain(t *testing.T) {
	st := newFakeStore()
	clock := clocktest.New(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))
	d := newDispatcher(t, Config{Store: st, Clock: clock})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		d.Maintain(ctx, 20*time.Millisecond, Retention{History: 30 * 24 * time.Hour, Payloads: 7 * 24 * time.Hour}, 5*24*time.Hour)
		close(done)
	}()
	waitFor(t, 2*time.Second, "two maintenance runs", func() bool {
		st.mu.Lock()
		defer st.mu.Unlock()
		return len(st.pruned) >= 2 && len(st.cleared) >= 2 && len(st.disabled) >= 2
	})
	cancel()
	<-done
	st.mu.Lock()
	defer st.mu.Unlock()
	// The cut-offs count back from the dispatcher's clock.
	if p, want := st.pruned[0], clock.Now().Add(-30*24*time.Hour); !p.Equal(want) {
		t.Errorf("pruned before %v, want %v", p, want)
	}
	if p, want := st.cleared[0], clock.Now().Add(-7*24*time.Hour); !p.Equal(want) {
		t.Errorf("payloads cleared before %v, want %v", p, want)
	}
	if p, want := st.disabled[0], clock.Now().Add(-5*24*time.Hour); !p.Equal(want) {
		t.Errorf("disabled before %v, want %v", p, want)
	}
}
