package delivery

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/hookd/hookd/internal/storeopt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/sqlite/sqlitetest"
)

// TestCircuitThroughThePipeline runs the real dispatcher over SQLite
// against a receiver that fails, then recovers: after --circuit-failures
// failures the webhook's circuit opens and its due deliveries (retries
// every 50 ms) wait without attempts; after the cool-down one probe goes
// out, its success closes the circuit, and the backlog drains.
func TestCircuitThroughThePipeline(t *testing.T) {
	const failures, events = 3, 8
	policy := hookd.CircuitPolicy{Failures: failures, Cooldown: 1500 * time.Millisecond, MaxCooldown: 3 * time.Second}
	changes := make(chan hookd.CircuitChange, 16)
	ctx := context.Background()
	st := sqlitetest.Open(t,
		storeopt.WithCircuitPolicy(policy),
		storeopt.WithCircuitObserver(func(c hookd.CircuitChange) { changes <- c }))

	var healthy atomic.Bool
	var requests, successes atomic.Int32
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if !healthy.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		successes.Add(1)
	})
	wh := &hookd.Webhook{Name: "flaky", HTTPURL: rc.URL, HTTPMethod: http.MethodPost, TriggerEvents: []string{"ASSET_ADDED"}}
	if err := st.CreateWebhook(ctx, wh, ""); err != nil {
		t.Fatal(err)
	}
	retries := make([]time.Duration, 40)
	for i := range retries {
		retries[i] = 50 * time.Millisecond
	}
	// One worker: at most one attempt is in flight when the circuit opens.
	startDispatcher(t, Config{Store: st, Sender: testSender(5 * time.Second), Policy: &Policy{Schedule: retries},
		Concurrency: 1, PollInterval: 20 * time.Millisecond})
	var batch []*hookd.Event
	for i := range events {
		batch = append(batch, &hookd.Event{Event: "ASSET_ADDED", Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i))})
	}
	if _, err := st.PublishEvents(ctx, batch); err != nil {
		t.Fatal(err)
	}

	opened := nextChange(t, changes)
	if opened.WebhookID != wh.ID || opened.Circuit.State != hookd.CircuitOpen || opened.Circuit.ProbeAt == nil {
		t.Fatalf("first change %+v, want the webhook's circuit open with a probe time", opened)
	}
	c, err := st.Circuit(ctx, wh.ID)
	if err != nil || c.State != hookd.CircuitOpen || c.Failures < failures {
		t.Fatalf("Circuit = %+v, %v; want open after %d failures", c, err, failures)
	}
	// While open, the due deliveries wait: besides the failures that
	// opened it, at most the one attempt in flight then reaches the
	// receiver (without the circuit, a retry every 50 ms each would).
	probeAt := *opened.Circuit.ProbeAt
	time.Sleep(time.Until(probeAt.Add(-100 * time.Millisecond)))
	if n := requests.Load(); n > failures+1 {
		t.Errorf("%d requests before the probe time, want at most %d", n, failures+1)
	}
	healthy.Store(true)

	closed := nextChange(t, changes)
	if closed.Circuit.State != hookd.CircuitClosed {
		t.Fatalf("second change %+v, want the circuit closed by the probe", closed)
	}
	if first := firstSuccessAt(t, st, wh.ID); first.Before(probeAt) {
		t.Errorf("the first success began at %v, before the probe time %v", first, probeAt)
	}
	waitFor(t, 10*time.Second, "the backlog to drain", func() bool { return successes.Load() == events })
	c, err = st.Circuit(ctx, wh.ID)
	if err != nil || c.State != hookd.CircuitClosed || c.Failures != 0 || c.Opens != 0 {
		t.Errorf("Circuit after the backlog = %+v, %v; want closed and reset", c, err)
	}
	select {
	case c := <-changes:
		t.Errorf("another change after the close: %+v", c)
	default:
	}
}

// nextChange waits for the next circuit change.
func nextChange(t *testing.T, changes <-chan hookd.CircuitChange) hookd.CircuitChange {
	t.Helper()
	select {
	case c := <-changes:
		return c
	case <-time.After(15 * time.Second):
		t.Fatal("no circuit change")
		return hookd.CircuitChange{}
	}
}

// firstSuccessAt is when the webhook's first successful attempt began.
func firstSuccessAt(t *testing.T, st hookd.Store, webhookID int64) time.Time {
	t.Helper()
	var log []*hookd.LogEntry
	waitFor(t, 5*time.Second, "a success in the log", func() bool {
		var err error
		log, err = st.Log(context.Background(), webhookID, true, 1, 100)
		return err == nil && len(log) > 0
	})
	return log[len(log)-1].CreatedAt // newest first
}
