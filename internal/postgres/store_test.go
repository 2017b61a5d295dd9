package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/hookd/hookd/internal/storeopt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/clocktest"
	"github.com/hookd/hookd/internal/postgres"
	"github.com/hookd/hookd/internal/postgres/pgtest"
	"github.com/hookd/hookd/internal/storetest"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func newWebhook(t *testing.T, s *postgres.Store, events ...string) *hookd.Webhook {
	t.Helper()
	w := &hookd.Webhook{Name: "w", HTTPURL: "http://127.0.0.1:1/hook", HTTPMethod: "POST", TriggerEvents: events}
	if err := s.CreateWebhook(ctxT(t), w, hookd.NewSigningSecret()); err != nil {
		t.Fatal(err)
	}
	return w
}

func publish(t *testing.T, s *postgres.Store, n int, name string) []hookd.Published {
	t.Helper()
	evs := make([]*hookd.Event, n)
	for i := range evs {
		evs[i] = &hookd.Event{Event: name, Data: json.RawMessage(fmt.Sprintf(`{"i": %d}`, i))}
	}
	ps, err := s.PublishEvents(ctxT(t), evs)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

// holdLane takes the lock of the lane of webhookID that e is in (as
// lockLanesSQL does, with the store's folded keys) in a transaction of its
// own, which the caller commits to let go, or the test's end rolls back.
func holdLane(t *testing.T, s *postgres.Store, webhookID int64, e *hookd.Event) pgx.Tx {
	t.Helper()
	lane, _ := hookd.OrderWebhook.Lane(e)
	fold := func(k int64) int32 { return int32(k ^ k>>32) }
	x, err := s.Pool().Begin(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Rollback(context.Background()) })
	if _, err := x.Exec(ctxT(t), `SELECT pg_advisory_xact_lock($1, $2)`, fold(webhookID), fold(lane)); err != nil {
		t.Fatal(err)
	}
	return x
}

// awaitLockWaits returns once n sessions of the test database wait for a
// lock of a kind among events (pg_stat_activity's wait_event: "advisory",
// "transactionid", "tuple"), and fails the test if done delivers first:
// what was to wait ended without.
func awaitLockWaits(t *testing.T, s *postgres.Store, done <-chan error, n int, events ...string) {
	t.Helper()
	for waiting := 0; waiting < n; {
		select {
		case err := <-done:
			t.Fatalf("ended without waiting for a lock (%v): %v", events, err)
		default:
		}
		if err := s.Pool().QueryRow(ctxT(t), `SELECT count(*) FROM pg_stat_activity
			WHERE wait_event_type = 'Lock' AND wait_event = ANY($1) AND datname = current_database()`, events).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMigrateConcurrentAndIdempotent(t *testing.T) {
	schema := pgtest.Schema(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := postgres.OpenConfig(ctxT(t), pgtest.Config(t, schema))
			if err != nil {
				errs <- err
				return
			}
			errs <- s.Close()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	s := pgtest.OpenSchema(t, schema)
	if err := s.Migrate(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.Pool().QueryRow(ctxT(t), `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("migrations/*.sql")
	if n != len(files) {
		t.Fatalf("schema_migrations has %d rows, want %d (one per migration)", n, len(files))
	}
}

func TestRoundTrip(t *testing.T) {
	s := pgtest.Open(t)
	ctx := ctxT(t)

	// Times come back in UTC at millisecond precision.
	at := time.Date(2023, 11, 27, 10, 42, 39, 937654321, time.FixedZone("CET", 3600))
	p := &hookd.Project{ID: "dh2NNcH3slJtkJqnfCD2", Title: "P", CreatedAt: at}
	if err := s.CreateProject(ctx, p); err != nil {
		t.Fatal(err)
	}
	got, err := s.Project(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2023, 11, 27, 9, 42, 39, 937000000, time.UTC)
	if got.CreatedAt != want || p.CreatedAt != want {
		t.Fatalf("created_at %v (stored) %v (returned), want %v", got.CreatedAt, p.CreatedAt, want)
	}
	if err := s.CreateProject(ctx, &hookd.Project{ID: p.ID}); !errors.Is(err, hookd.ErrConflict) {
		t.Fatalf("duplicate project: %v", err)
	}
	if _, err := s.Project(ctx, "nope"); !errors.Is(err, hookd.ErrNotFound) {
		t.Fatalf("missing project: %v", err)
	}
	other := "other"
	w := &hookd.Webhook{Name: "w", HTTPURL: "http://x", HTTPMethod: "POST", TriggerEvents: []string{"ASSET_ADDED"}, ProjectID: &other}
	if err := s.CreateWebhook(ctx, w, "whsec_a"); !errors.Is(err, hookd.ErrProjectNotFound) {
		t.Fatalf("unknown project: %v", err)
	}

	// Event data reads back byte for byte.
	wh := newWebhook(t, s, "ASSET_ADDED")
	data := json.RawMessage(`{"b": 1,  "a": [true, null], "s": "\u00e9"}`)
	ps, err := s.PublishEvents(ctx, []*hookd.Event{{ID: "e1", Event: "ASSET_ADDED", Data: data}})
	if err != nil {
		t.Fatal(err)
	}
	if ps[0].Deliveries != 1 || ps[0].Duplicate {
		t.Fatalf("published %+v", ps[0])
	}
	ds, err := storetest.Deliveries(s.Claim(ctx, hookd.ClaimRequest{Worker: "w1", Limit: 10, Lease: time.Minute, Workers: storetest.Workers}))
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || string(ds[0].Event.Data) != string(data) || ds[0].WebhookID != wh.ID {
		t.Fatalf("claimed %+v", ds)
	}
	if loc := ds[0].Event.CreatedAt.Location(); loc != time.UTC {
		t.Fatalf("event time in %v", loc)
	}

	// Response bodies with NUL bytes and invalid UTF-8 are stored.
	err = s.Complete(ctx, []hookd.AttemptResult{{
		DeliveryID: ds[0].ID, WebhookID: wh.ID, Attempt: 1, At: hookd.SystemClock.Now(), HTTPStatus: 500,
		Duration: 1500 * time.Microsecond, ErrorClass: hookd.ClassStatus, ResponseBody: "a\x00b\xffc",
		RequestHeaders: map[string]string{"Content-Type": "application/json"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	log, err := s.Log(ctx, wh.ID, false, 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 1 || log[0].ResponseBody != "a\uFFFDb\uFFFDc" || log[0].Duration != 1500*time.Microsecond ||
		log[0].RequestHeaders["Content-Type"] != "application/json" || log[0].EventID != "e1" {
		t.Fatalf("log %+v", log)
	}
}

// Two claimers polling the same queue never get the same delivery, and
// between them they get all of it.
func TestClaimConcurrent(t *testing.T) {
	schema := pgtest.Schema(t)
	clock := clocktest.New(time.Now())
	a := pgtest.OpenSchema(t, schema, storeopt.WithClock(clock))
	b := pgtest.OpenSchema(t, schema, storeopt.WithClock(clock))
	newWebhook(t, a, "ASSET_ADDED")
	newWebhook(t, a, "ASSET_ADDED")
	const events = 500 // 1000 deliveries
	publish(t, a, events, "ASSET_ADDED")

	var mu sync.Mutex
	owner := map[int64]string{}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i, s := range []*postgres.Store{a, b, a, b} {
		worker := fmt.Sprintf("worker-%d", i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				ds, err := storetest.Deliveries(s.Claim(context.Background(), hookd.ClaimRequest{Worker: worker, Limit: 7, Lease: time.Minute, Workers: storetest.Workers}))
				if err != nil {
					errs <- err
					return
				}
				if len(ds) == 0 {
					return
				}
				mu.Lock()
				for _, d := range ds {
					if prev, ok := owner[d.ID]; ok {
						errs <- fmt.Errorf("delivery %d claimed by %s and %s", d.ID, prev, worker)
					}
					owner[d.ID] = worker
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if len(owner) != 2*events {
		t.Fatalf("claimed %d deliveries, want %d", len(owner), 2*events)
	}
	// Leased deliveries are not due again until the lease expires.
	ds, err := storetest.Deliveries(a.Claim(ctxT(t), hookd.ClaimRequest{Worker: "late", Limit: 10, Lease: time.Minute, Workers: storetest.Workers}))
	if err != nil || len(ds) != 0 {
		t.Fatalf("claimed %d leased deliveries (err %v)", len(ds), err)
	}
	clock.Advance(2 * time.Minute)
	ds, err = storetest.Deliveries(a.Claim(ctxT(t), hookd.ClaimRequest{Worker: "late", Limit: 10, Lease: time.Minute, Workers: storetest.Workers}))
	if err != nil || len(ds) != 10 {
		t.Fatalf("claimed %d expired deliveries, want 10 (err %v)", len(ds), err)
	}
}

func waitWake(t *testing.T, s *postgres.Store, what string) {
	t.Helper()
	select {
	case <-s.Wakeup():
	case <-time.After(5 * time.Second):
		t.Fatalf("no wakeup: %s", what)
	}
}

func drain(s *postgres.Store) {
	for {
		select {
		case <-s.Wakeup():
		case <-time.After(200 * time.Millisecond):
			return
		}
	}
}

// A commit in one process wakes the workers of another through LISTEN.
func TestWakeupAcrossStores(t *testing.T) {
	schema := pgtest.Schema(t)
	a := pgtest.OpenSchema(t, schema)
	b := pgtest.OpenSchema(t, schema)
	newWebhook(t, a, "ASSET_ADDED")
	drain(a)
	drain(b)

	publish(t, a, 1, "ASSET_ADDED")
	waitWake(t, a, "local publish")
	waitWake(t, b, "publish in the other store")

	// The listener survives its connection being killed.
	var pids []int32
	rows, err := b.Pool().Query(ctxT(t), `
		SELECT pid FROM pg_stat_activity
		WHERE application_name = $1 AND query LIKE 'LISTEN %' AND pid <> pg_backend_pid()`, schema)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var pid int32
		rows.Scan(&pid)
		pids = append(pids, pid)
	}
	if rows.Err() != nil || len(pids) < 2 {
		t.Fatalf("listener pids %v (%v)", pids, rows.Err())
	}
	for _, pid := range pids {
		if _, err := b.Pool().Exec(ctxT(t), `SELECT pg_terminate_backend($1)`, pid); err != nil {
			t.Fatal(err)
		}
	}
	// a reconnected listener wakes once, as notifications may be lost
	waitWake(t, b, "reconnect")
	drain(a)
	drain(b)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := a.Pool().Exec(ctxT(t), `SELECT pg_notify('hookd_work', '')`); err != nil {
			t.Fatal(err)
		}
		select {
		case <-b.Wakeup():
			return
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("no wakeup after the listener's connection was terminated")
		}
	}
}

func TestTryLead(t *testing.T) {
	schema := pgtest.Schema(t)
	a := pgtest.OpenSchema(t, schema)
	b := pgtest.OpenSchema(t, schema)
	ctx := ctxT(t)
	release, ok, err := a.TryLead(ctx, "maintenance")
	if err != nil || !ok {
		t.Fatalf("first TryLead: ok %v err %v", ok, err)
	}
	if _, ok, err := b.TryLead(ctx, "maintenance"); err != nil || ok {
		t.Fatalf("second TryLead while led: ok %v err %v", ok, err)
	}
	rel2, ok, err := b.TryLead(ctx, "other")
	if err != nil || !ok {
		t.Fatalf("TryLead of another name: ok %v err %v", ok, err)
	}
	rel2()
	release()
	release() // idempotent
	rel3, ok, err := b.TryLead(ctx, "maintenance")
	if err != nil || !ok {
		t.Fatalf("TryLead after release: ok %v err %v", ok, err)
	}
	// Closing the store releases its leadership.
	b.Close()
	rel3()
	rel4, ok, err := a.TryLead(ctx, "maintenance")
	if err != nil || !ok {
		t.Fatalf("TryLead after the leader closed: ok %v err %v", ok, err)
	}
	rel4()
}

func TestUnavailable(t *testing.T) {
	pgtest.URL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := postgres.Open(ctx, "postgres://postgres@127.0.0.1:1/none?connect_timeout=2")
	if !errors.Is(err, hookd.ErrUnavailable) {
		t.Fatalf("Open of a closed port: %v, want ErrUnavailable", err)
	}
}

func TestQueueFigures(t *testing.T) {
	s := pgtest.Open(t)
	ctx := ctxT(t)
	w := newWebhook(t, s, "ASSET_ADDED")
	publish(t, s, 3, "ASSET_ADDED")
	got, err := s.Webhook(ctx, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.QueueLength != 3 || got.RetryQueueLength != 0 || got.LatestRun != nil {
		t.Fatalf("after publish: queue %d retry %d run %v", got.QueueLength, got.RetryQueueLength, got.LatestRun)
	}
	now := hookd.SystemClock.Now()
	ds, err := storetest.Deliveries(s.Claim(ctx, hookd.ClaimRequest{Worker: "w", Limit: 3, Lease: time.Minute, Workers: storetest.Workers}))
	if err != nil || len(ds) != 3 {
		t.Fatalf("claim: %d %v", len(ds), err)
	}
	next := now.Add(time.Hour)
	err = s.Complete(ctx, []hookd.AttemptResult{
		{DeliveryID: ds[0].ID, Attempt: 1, At: now, Success: true, HTTPStatus: 200},
		{DeliveryID: ds[1].ID, Attempt: 1, At: now.Add(time.Millisecond), HTTPStatus: 500, NextAttemptAt: &next},
		{DeliveryID: 1 << 40, Attempt: 1, At: now, Success: true}, // gone: dropped
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err = s.Webhook(ctx, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.QueueLength != 1 || got.RetryQueueLength != 1 {
		t.Fatalf("after complete: queue %d retry %d", got.QueueLength, got.RetryQueueLength)
	}
	if r := got.LatestRun; r == nil || r.Success || r.HTTPStatus != 500 || r.Event != "ASSET_ADDED" {
		t.Fatalf("latest run %+v", r)
	}
	// failing since the failure; DisableFailing honours the boundary
	if ids, err := s.DisableFailing(ctx, now); err != nil || len(ids) != 0 {
		t.Fatalf("DisableFailing before the failure: %v %v", ids, err)
	}
	if ids, err := s.DisableFailing(ctx, now.Add(time.Second)); err != nil || len(ids) != 1 || ids[0] != w.ID {
		t.Fatalf("DisableFailing after the failure: %v %v", ids, err)
	}
}
