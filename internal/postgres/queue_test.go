package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/hookd/hookd/internal/storeopt"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/clocktest"
	"github.com/hookd/hookd/internal/postgres"
	"github.com/hookd/hookd/internal/postgres/pgtest"
	"github.com/hookd/hookd/internal/storetest"
)

func TestPublishDuplicatesAndRegistry(t *testing.T) {
	s := pgtest.Open(t)
	ctx := ctxT(t)
	newWebhook(t, s, "ASSET_ADDED", hookd.EventProjectAdded)
	p := "proj_1"
	evs := []*hookd.Event{
		{ID: "a", Event: "ASSET_ADDED"},
		{ID: "a", Event: "ASSET_REMOVED"}, // a repeat within the call
		{Event: hookd.EventProjectAdded, ProjectID: &p, Data: json.RawMessage(`{"title": "Hello"}`)},
	}
	ps, err := s.PublishEvents(ctx, evs)
	if err != nil {
		t.Fatal(err)
	}
	if ps[0].Duplicate || ps[0].Deliveries != 1 || !ps[1].Duplicate || ps[1].Event.Event != "ASSET_ADDED" || ps[1].Deliveries != 1 {
		t.Fatalf("published %+v", ps)
	}
	if string(evs[0].Data) != `{}` || evs[2].ID == "" {
		t.Fatalf("events not prepared: %+v", evs)
	}
	if pr, err := s.Project(ctx, p); err != nil || pr.Title != "Hello" {
		t.Fatalf("registered project %+v, %v", pr, err)
	}
	// a repeat in a later call answers with the stored original
	ps, err = s.PublishEvents(ctx, []*hookd.Event{{ID: "a", Event: "USER_ADDED"}})
	if err != nil || !ps[0].Duplicate || ps[0].Event.Event != "ASSET_ADDED" || ps[0].Deliveries != 1 {
		t.Fatalf("repeat: %+v %v", ps, err)
	}
	if _, err := s.PublishEvents(ctx, []*hookd.Event{{Event: hookd.EventProjectPurged, ProjectID: &p}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Project(ctx, p); !errors.Is(err, hookd.ErrNotFound) {
		t.Fatalf("purged project: %v", err)
	}
	if _, err := s.PublishEvents(ctx, []*hookd.Event{{Event: "ASSET_ADDED", Data: json.RawMessage(`{`)}}); err == nil {
		t.Fatal("invalid JSON accepted")
	}
	if err := s.PublishTo(ctx, 1<<40, &hookd.Event{Event: "ASSET_ADDED"}); !errors.Is(err, hookd.ErrNotFound) {
		t.Fatalf("PublishTo unknown webhook: %v", err)
	}
	if err := s.PublishTo(ctx, 1, &hookd.Event{ID: "a", Event: "ASSET_ADDED"}); !errors.Is(err, hookd.ErrConflict) {
		t.Fatalf("PublishTo with a stored id: %v", err)
	}
}

// The failure streak and the latest run do not depend on the order in
// which results arrive; the latest run survives pruning.
func TestCompleteStreakAndLatestRun(t *testing.T) {
	clock := clocktest.New(time.Now())
	s := pgtest.Open(t, storeopt.WithClock(clock))
	ctx := ctxT(t)
	w := newWebhook(t, s, "ASSET_ADDED")
	publish(t, s, 4, "ASSET_ADDED")
	t0 := clock.Now()
	ds, err := storetest.Deliveries(s.Claim(ctx, hookd.ClaimRequest{Worker: "w", Limit: 10, Lease: time.Minute, Workers: storetest.Workers}))
	if err != nil || len(ds) != 4 {
		t.Fatalf("claim %d %v", len(ds), err)
	}
	next := t0.Add(time.Hour)
	fail := func(i int, at time.Time) hookd.AttemptResult {
		return hookd.AttemptResult{DeliveryID: ds[i].ID, At: at, HTTPStatus: 500, NextAttemptAt: &next}
	}
	ok := func(i int, at time.Time) hookd.AttemptResult {
		return hookd.AttemptResult{DeliveryID: ds[i].ID, At: at, Success: true, HTTPStatus: 200, Duration: 42 * time.Millisecond}
	}
	// out of order: a failure at t0+3s, a success at t0+2s, a failure at t0+1s
	if err := s.Complete(ctx, []hookd.AttemptResult{fail(0, t0.Add(3*time.Second)), ok(1, t0.Add(2*time.Second)), fail(2, t0.Add(time.Second))}); err != nil {
		t.Fatal(err)
	}
	var since *time.Time
	if err := s.Pool().QueryRow(ctx, `SELECT failing_since FROM webhooks WHERE id = $1`, w.ID).Scan(&since); err != nil {
		t.Fatal(err)
	}
	if since == nil || !since.Equal(t0.Add(3*time.Second)) {
		t.Fatalf("failing_since %v, want %v", since, t0.Add(3*time.Second))
	}
	got, _ := s.Webhook(ctx, w.ID)
	if r := got.LatestRun; r == nil || !r.At.Equal(t0.Add(3*time.Second)) || r.Success {
		t.Fatalf("latest run %+v", r)
	}
	// an older success does not clear a later failure nor replace the run
	if err := s.Complete(ctx, []hookd.AttemptResult{ok(3, t0.Add(2500*time.Millisecond))}); err != nil {
		t.Fatal(err)
	}
	s.Pool().QueryRow(ctx, `SELECT failing_since FROM webhooks WHERE id = $1`, w.ID).Scan(&since)
	if since == nil {
		t.Fatal("an older success cleared the streak")
	}
	got, _ = s.Webhook(ctx, w.ID)
	if r := got.LatestRun; !r.At.Equal(t0.Add(3 * time.Second)) {
		t.Fatalf("latest run replaced by an older one: %+v", r)
	}
	// Two results for one delivery in one call: both logged, in order.
	clock.Set(next)
	ds2, _ := storetest.Deliveries(s.Claim(ctx, hookd.ClaimRequest{Worker: "w", Limit: 10, Lease: time.Minute, Workers: storetest.Workers}))
	if len(ds2) != 2 {
		t.Fatalf("claimed %d retries", len(ds2))
	}
	later := next.Add(time.Hour)
	if err := s.Complete(ctx, []hookd.AttemptResult{
		{DeliveryID: ds2[0].ID, At: next, HTTPStatus: 502, NextAttemptAt: &later},
		{DeliveryID: ds2[0].ID, At: next.Add(time.Second), Success: true, HTTPStatus: 204, Duration: 7 * time.Millisecond},
		{DeliveryID: ds2[1].ID, At: next, HTTPStatus: 410, DisableWebhook: true},
	}); err != nil {
		t.Fatal(err)
	}
	log, err := s.Log(ctx, w.ID, false, 1, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 4 || log[0].Attempt != 2 || log[0].HTTPStatus != 502 && log[0].HTTPStatus != 410 {
		t.Fatalf("failed log %+v", log)
	}
	got, _ = s.Webhook(ctx, w.ID)
	if !got.Disabled || got.LatestRun.HTTPStatus != 204 || got.LatestRun.Duration != 7*time.Millisecond {
		t.Fatalf("after 410: disabled %v run %+v", got.Disabled, got.LatestRun)
	}
	if got.QueueLength != 0 || got.RetryQueueLength != 0 {
		t.Fatalf("figures %d %d", got.QueueLength, got.RetryQueueLength)
	}
	// Requeue the final failure (the 410), then prune everything else.
	clock.Set(later)
	n, err := s.Requeue(ctx, w.ID, next, next.Add(time.Millisecond))
	if err != nil || n != 1 {
		t.Fatalf("requeued %d %v", n, err)
	}
	got, _ = s.Webhook(ctx, w.ID)
	if got.RetryQueueLength != 1 {
		t.Fatalf("requeued delivery counts %d/%d", got.QueueLength, got.RetryQueueLength)
	}
	// PostgreSQL drops whole days of history: a cutoff two days on takes
	// the days of these attempts and deliveries.
	pruned, err := s.Prune(ctx, later.Add(48*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	// 7 attempts, 3 finished deliveries, 3 events (one is still needed)
	if pruned != 13 {
		t.Fatalf("pruned %d rows, want 13", pruned)
	}
	got, _ = s.Webhook(ctx, w.ID)
	if got.LatestRun == nil || got.LatestRun.HTTPStatus != 204 {
		t.Fatalf("latest run after prune: %+v", got.LatestRun)
	}
	// The 410 disabled the webhook: its requeued delivery waits until it
	// is enabled again.
	if ds, _ := storetest.Deliveries(s.Claim(ctx, hookd.ClaimRequest{Worker: "w", Limit: 10, Lease: time.Minute, Workers: storetest.Workers})); len(ds) != 0 {
		t.Fatalf("claimed %d deliveries of a disabled webhook", len(ds))
	}
	enabled := false
	if _, err := s.UpdateWebhook(ctx, w.ID, hookd.WebhookUpdate{Disabled: &enabled}); err != nil {
		t.Fatal(err)
	}
	if ds, _ := storetest.Deliveries(s.Claim(ctx, hookd.ClaimRequest{Worker: "w", Limit: 10, Lease: time.Minute, Workers: storetest.Workers})); len(ds) != 1 {
		t.Fatalf("requeued delivery not claimable after prune: %d", len(ds))
	}
}

// Completing, publishing and deleting webhooks at once neither deadlocks
// nor fails a publish.
func TestConcurrentCompleteDelete(t *testing.T) {
	schema := pgtest.Schema(t)
	a := pgtest.OpenSchema(t, schema)
	b := pgtest.OpenSchema(t, schema)
	ctx := ctxT(t)
	const hooks = 6
	for range hooks {
		newWebhook(t, a, "ASSET_ADDED")
	}
	publish(t, a, 50, "ASSET_ADDED")
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 4 {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				ds, err := storetest.Deliveries(s.Claim(ctx, hookd.ClaimRequest{Worker: "w", Limit: 20, Lease: time.Minute, Workers: storetest.Workers}))
				if err != nil {
					errs <- err
					return
				}
				if len(ds) == 0 {
					return
				}
				rs := make([]hookd.AttemptResult, len(ds))
				for j, d := range ds {
					rs[j] = hookd.AttemptResult{DeliveryID: d.ID, At: hookd.SystemClock.Now(), Success: j%2 == 0, HTTPStatus: 200}
				}
				// reversed half the time, to mix lock orders
				if i%2 == 0 {
					for l, r := 0, len(rs)-1; l < r; l, r = l+1, r-1 {
						rs[l], rs[r] = rs[r], rs[l]
					}
				}
				if err := s.Complete(ctx, rs); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Add(2)
	go func() {
		defer wg.Done()
		for range 20 {
			if _, err := b.PublishEvents(ctx, []*hookd.Event{{Event: "ASSET_ADDED"}}); err != nil {
				errs <- err
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		for id := int64(1); id <= hooks/2; id++ {
			time.Sleep(5 * time.Millisecond)
			if err := b.DeleteWebhook(ctx, id); err != nil {
				errs <- err
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestClaimReturnsFullEvents(t *testing.T) {
	s := pgtest.Open(t)
	ctx := context.Background()
	w := newWebhook(t, s, "ASSET_ADDED")
	p, u := "p", int64(7)
	if _, err := s.PublishEvents(ctx, []*hookd.Event{{ID: "x", Event: "ASSET_ADDED", ProjectID: &p, UserID: &u, Data: json.RawMessage(`{"k":"v"}`)}}); err != nil {
		t.Fatal(err)
	}
	ds, err := storetest.Deliveries(s.Claim(ctx, hookd.ClaimRequest{Worker: "w", Limit: 5, Lease: time.Minute, Workers: storetest.Workers}))
	if err != nil || len(ds) != 1 {
		t.Fatal(len(ds), err)
	}
	d := ds[0]
	if d.WebhookID != w.ID || d.Event.ID != "x" || *d.Event.ProjectID != "p" || *d.Event.UserID != 7 || d.Attempts != 0 || d.MessageID == "" {
		t.Fatalf("delivery %+v", d)
	}
}

// tripConn counts the round trips made on a connection: a write after a
// read (or the first write) starts one.
type tripConn struct {
	net.Conn
	trips *atomic.Int64
	read  atomic.Bool
}

func (c *tripConn) Write(p []byte) (int, error) {
	if c.read.Swap(false) {
		c.trips.Add(1)
	}
	return c.Conn.Write(p)
}

func (c *tripConn) Read(p []byte) (int, error) {
	c.read.Store(true)
	return c.Conn.Read(p)
}

// Complete takes three round trips (begin, health read and settling in one
// batch; the health written back; commit), as many as before the health
// rule moved out of its SQL.
// openCountingTrips opens a store of its own schema on one connection
// (whose statements its first calls prepare) and counts its round trips:
// the times it reads after writing.
func openCountingTrips(t *testing.T) (*postgres.Store, *atomic.Int64) {
	t.Helper()
	var trips atomic.Int64
	cfg := pgtest.Config(t, pgtest.Schema(t))
	cfg.MaxConns = 1
	cfg.ShouldPing = func(context.Context, pgxpool.ShouldPingParams) bool { return false }
	cfg.BeforeConnect = func(_ context.Context, cc *pgx.ConnConfig) error {
		dial := cc.DialFunc
		cc.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			tc := &tripConn{Conn: c, trips: &trips}
			tc.read.Store(true)
			return tc, nil
		}
		return nil
	}
	s, err := postgres.OpenConfig(ctxT(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, &trips
}

func TestCompleteRoundTrips(t *testing.T) {
	s, trips := openCountingTrips(t)
	ctx := ctxT(t)
	newWebhook(t, s, "ASSET_ADDED")
	publish(t, s, 2, "ASSET_ADDED")
	ds, err := storetest.Deliveries(s.Claim(ctx, hookd.ClaimRequest{Worker: "w", Limit: 10, Lease: time.Minute, Workers: storetest.Workers}))
	if err != nil || len(ds) != 2 {
		t.Fatalf("claim %d %v", len(ds), err)
	}
	for i, d := range ds {
		before := trips.Load()
		if err := s.Complete(ctx, []hookd.AttemptResult{{DeliveryID: d.ID, At: time.Now(), HTTPStatus: 500}}); err != nil {
			t.Fatal(err)
		}
		if n := trips.Load() - before; i > 0 && n != 3 {
			t.Errorf("Complete took %d round trips, want 3", n)
		}
	}
}

// TestClaimRoundTrips: a claim is three round trips (begun with the
// first, committed with the lease), and a publish of new events one.
func TestClaimRoundTrips(t *testing.T) {
	s, trips := openCountingTrips(t)
	ctx := ctxT(t)
	newWebhook(t, s, "ASSET_ADDED")
	claim := func() int {
		t.Helper()
		ds, err := storetest.Deliveries(s.Claim(ctx, hookd.ClaimRequest{Worker: "w", Limit: 10, Lease: time.Minute, Workers: storetest.Workers}))
		if err != nil {
			t.Fatal(err)
		}
		return len(ds)
	}
	for i := range 3 { // the first of each prepares its statements
		before := trips.Load()
		publish(t, s, 2, "ASSET_ADDED")
		if n := trips.Load() - before; i > 1 && n != 1 {
			t.Errorf("publish %d took %d round trips, want 1", i+1, n)
		}
		before = trips.Load()
		if got := claim(); got != 2 {
			t.Fatalf("claim %d leased %d, want 2", i+1, got)
		}
		if n := trips.Load() - before; i > 0 && n != 3 {
			t.Errorf("claim %d took %d round trips, want 3", i+1, n)
		}
	}
	before := trips.Load()
	if got := claim(); got != 0 {
		t.Fatalf("a claim of an empty queue leased %d", got)
	}
	if n := trips.Load() - before; n != 2 {
		t.Errorf("a claim of an empty queue took %d round trips, want 2", n)
	}
}

// TestClaimRollsBackOnFailure: a claim whose lease fails leases nothing,
// leaves no transaction open, and the next claim leases the deliveries.
func TestClaimRollsBackOnFailure(t *testing.T) {
	cfg := pgtest.Config(t, pgtest.Schema(t))
	cfg.MaxConns = 1 // the claim's connection, kept if it was rolled back
	ctx := ctxT(t)
	s, err := postgres.OpenConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	newWebhook(t, s, "ASSET_ADDED")
	publish(t, s, 3, "ASSET_ADDED")
	if _, err := s.Pool().Exec(ctx, `
		CREATE FUNCTION refuse_lease() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'lease refused'; END $$;
		CREATE TRIGGER refuse_lease BEFORE UPDATE ON deliveries_queue FOR EACH ROW EXECUTE FUNCTION refuse_lease()`); err != nil {
		t.Fatal(err)
	}
	req := hookd.ClaimRequest{Worker: "w", Limit: 10, Lease: time.Minute, Workers: storetest.Workers}
	conns := s.Pool().Stat().NewConnsCount()
	if _, err := s.Claim(ctx, req); err == nil || !strings.Contains(err.Error(), "lease refused") {
		t.Fatalf("claim with its lease refused: %v", err)
	}
	var open int
	if err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND state LIKE 'idle in transaction%' AND application_name = current_setting('application_name')`).Scan(&open); err != nil {
		t.Fatal(err)
	}
	if open != 0 {
		t.Errorf("%d connections left in a transaction", open)
	}
	if _, err := s.Pool().Exec(ctx, `DROP TRIGGER refuse_lease ON deliveries_queue`); err != nil {
		t.Fatal(err)
	}
	ds, err := storetest.Deliveries(s.Claim(ctx, req))
	if err != nil || len(ds) != 3 {
		t.Fatalf("the claim after: %d, %v; want the 3 deliveries", len(ds), err)
	}
	if n := s.Pool().Stat().NewConnsCount() - conns; n != 0 {
		t.Errorf("%d new connections: the failed claim's was left in its transaction and dropped", n)
	}
}

// openLockImpatient opens a store of its own schema whose waits for a
// lock fail after a second rather than hang the test.
func openLockImpatient(t *testing.T, clock hookd.Clock) *postgres.Store {
	t.Helper()
	cfg := pgtest.Config(t, pgtest.Schema(t))
	cfg.ConnConfig.RuntimeParams["lock_timeout"] = "1s"
	s, err := postgres.OpenConfig(ctxT(t), cfg, storeopt.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// DisableFailing locks only the webhooks it disables: one failing since
// after before, locked by someone else, does not hold it up.
func TestDisableFailingLocksOnlyThoseItDisables(t *testing.T) {
	clock := clocktest.New(time.Now())
	s := openLockImpatient(t, clock)
	ctx := ctxT(t)
	old, recent := newWebhook(t, s, "ASSET_ADDED"), newWebhook(t, s, "ASSET_ADDED")
	publish(t, s, 1, "ASSET_ADDED")
	t0 := clock.Now()
	ds, err := storetest.Deliveries(s.Claim(ctx, hookd.ClaimRequest{Worker: "w", Limit: 10, Lease: time.Minute, Workers: storetest.Workers}))
	if err != nil || len(ds) != 2 {
		t.Fatalf("claim %d %v", len(ds), err)
	}
	var rs []hookd.AttemptResult
	for _, d := range ds {
		at := t0
		if d.WebhookID == recent.ID {
			at = t0.Add(time.Hour)
		}
		rs = append(rs, hookd.AttemptResult{DeliveryID: d.ID, At: at, HTTPStatus: 500})
	}
	if err := s.Complete(ctx, rs); err != nil {
		t.Fatal(err)
	}
	tx, err := s.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT FROM webhooks WHERE id = $1 FOR UPDATE`, recent.ID); err != nil {
		t.Fatal(err)
	}
	disabled, err := s.DisableFailing(ctx, t0)
	if err != nil || len(disabled) != 1 || disabled[0] != old.ID {
		t.Fatalf("DisableFailing = %v, %v; want [%d]", disabled, err, old.ID)
	}
}

// Every attempt has its request headers, as on SQLite: the column says so.
func TestAttemptRequestHeadersNotNull(t *testing.T) {
	s := pgtest.Open(t)
	var nullable string
	if err := s.Pool().QueryRow(ctxT(t), `SELECT is_nullable FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = 'attempts' AND column_name = 'request_headers'`).Scan(&nullable); err != nil {
		t.Fatal(err)
	}
	if nullable != "NO" {
		t.Fatalf("attempts.request_headers is_nullable = %s, want NO", nullable)
	}
}

// A claim and a Complete of the same webhook do not wait for each other:
// Complete locks the webhook's row to record its health, a claim takes
// the webhook's claim lock and writes webhook_claims. (Claims used to lock
// the row too: a claim skipped the webhooks a Complete was recording, and
// a Complete waited for the claims in progress.)
func TestClaimBesideComplete(t *testing.T) {
	clock := clocktest.New(time.Now())
	s := openLockImpatient(t, clock)
	ctx := ctxT(t)
	w := newWebhook(t, s, "ASSET_ADDED")
	publish(t, s, 3, "ASSET_ADDED")
	claim := func(limit int) []*hookd.Delivery {
		t.Helper()
		ds, err := storetest.Deliveries(s.Claim(ctx, hookd.ClaimRequest{Worker: "w", Limit: limit, Lease: time.Minute, Workers: storetest.Workers}))
		if err != nil {
			t.Fatal(err)
		}
		return ds
	}
	first := claim(1)

	// What a Complete holds while it records: the webhook's row.
	recording, err := s.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer recording.Rollback(ctx)
	if _, err := recording.Exec(ctx, `SELECT FROM webhooks WHERE id = $1 FOR NO KEY UPDATE`, w.ID); err != nil {
		t.Fatal(err)
	}
	if ds := claim(1); len(ds) != 1 {
		t.Fatalf("a claim beside a Complete of its webhook leased %d deliveries, want 1", len(ds))
	}
	if err := recording.Rollback(ctx); err != nil {
		t.Fatal(err)
	}

	// What a claim holds while it leases: the claim lock, and the row of
	// webhook_claims it writes.
	claiming, err := s.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer claiming.Rollback(ctx)
	if _, err := claiming.Exec(ctx, postgres.ClaimLockSQL, w.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := claiming.Exec(ctx, `UPDATE webhook_claims SET last_claimed_at = now() WHERE webhook_id = $1`, w.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.Complete(ctx, []hookd.AttemptResult{{DeliveryID: first[0].ID, Worker: "w", At: clock.Now(), Success: true, HTTPStatus: 200}}); err != nil {
		t.Fatalf("Complete beside a claim of its webhook: %v", err)
	}
	// while the claim lock is held, another claim serves other webhooks
	if ds := claim(10); len(ds) != 0 {
		t.Fatalf("a claim beside another claim of its webhook leased %d deliveries, want 0", len(ds))
	}
	if err := claiming.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if ds := claim(10); len(ds) != 1 {
		t.Fatalf("once the other claim ended: leased %d deliveries, want 1", len(ds))
	}
	var attempts int
	if err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM attempts WHERE delivery_id = $1`, first[0].ID).Scan(&attempts); err != nil || attempts != 1 {
		t.Fatalf("the Complete beside the claim logged %d attempts (%v), want 1", attempts, err)
	}
}

// Complete looks its deliveries up by id through the queue's primary key
// even when the queue's statistics are from a moment it was nearly empty,
// as they mostly are for a queue that fills and empties: the planner then
// believes a full queue holds a few dozen rows.
func TestCompleteLooksUpByIdWithStaleStatistics(t *testing.T) {
	s := pgtest.Open(t)
	ctx := ctxT(t)
	newWebhook(t, s, "ASSET_ADDED")
	publish(t, s, 1000, "ASSET_ADDED")
	claim := func(limit int) []*hookd.Delivery {
		t.Helper()
		ds, err := storetest.Deliveries(s.Claim(ctx, hookd.ClaimRequest{Worker: "w", Limit: limit, Lease: time.Minute, Workers: 1 << 20}))
		if err != nil {
			t.Fatal(err)
		}
		return ds
	}
	for left := 1000; left > 20; left -= 100 {
		var rs []hookd.AttemptResult
		for _, d := range claim(min(100, left-20)) {
			rs = append(rs, hookd.AttemptResult{DeliveryID: d.ID, Worker: "w", At: time.Now(), Success: true, HTTPStatus: 200})
		}
		if err := s.Complete(ctx, rs); err != nil {
			t.Fatal(err)
		}
	}
	// 20 deliveries queued among the dead rows of 980: the statistics say so
	if _, err := s.Pool().Exec(ctx, `ANALYZE deliveries_queue`); err != nil {
		t.Fatal(err)
	}
	publish(t, s, 1000, "ASSET_ADDED")
	publish(t, s, 1000, "ASSET_ADDED")
	n := 64
	ids := make([]int64, n)
	for i, d := range claim(n) {
		ids[i] = d.ID
	}
	settleArgs := []any{ids, make([]int32, n), slices.Repeat([]time.Time{time.Now()}, n), make([]bool, n),
		make([]int32, n), make([]int64, n), make([]string, n), make([]string, n), slices.Repeat([]string{"{}"}, n),
		make([]string, n), make([]*time.Time, n), make([]bool, n), slices.Repeat([]string{"w"}, n),
		slices.Repeat([]string{"succeeded"}, n)}
	for _, st := range []struct {
		name string
		sql  string
		args []any
	}{
		{"health", postgres.HealthSQL, []any{ids}},
		{"settle", postgres.SettleSQL, settleArgs},
	} {
		var lines []string
		err := pgx.BeginFunc(ctx, s.Pool(), func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, postgres.QueueLookupsSQL); err != nil {
				return err
			}
			rows, _ := tx.Query(ctx, "EXPLAIN "+st.sql, st.args...)
			var err error
			lines, err = pgx.CollectRows(rows, pgx.RowTo[string])
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		plan := strings.Join(lines, "\n")
		if !strings.Contains(plan, "deliveries_queue_pkey") || strings.Contains(plan, "Bitmap Heap Scan on deliveries_queue") ||
			strings.Contains(plan, "Seq Scan on deliveries_queue") {
			t.Errorf("%s reads the queue other than by its primary key:\n%s", st.name, plan)
		}
	}
}

// TestClaimsCommitDurably: a claim's transaction waits for its WAL to reach
// the disk, as a publish's and a Complete's do. A claim that committed with
// synchronous_commit off could be lost in a crash of PostgreSQL while its
// attempts were under way, and with it the lease and its next_attempt_at:
// the deliveries would be due at once, claimed again beside the attempts
// still running (past the webhook's share, ahead of an ordered lane's
// head, a circuit's second probe), and a result from the lease before it
// would be recorded over the newer attempt's.
func TestClaimsCommitDurably(t *testing.T) {
	s := pgtest.Open(t)
	ctx := ctxT(t)
	newWebhook(t, s, "ASSET_ADDED")
	if _, err := s.Pool().Exec(ctx, `
		CREATE TABLE commit_modes (seq serial, op text, mode text);
		CREATE FUNCTION note_commit_mode() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN INSERT INTO commit_modes (op, mode) VALUES (TG_OP, current_setting('synchronous_commit')); RETURN NEW; END $$;
		CREATE TRIGGER note_commit_mode BEFORE INSERT OR UPDATE ON deliveries_queue
			FOR EACH ROW EXECUTE FUNCTION note_commit_mode()`); err != nil {
		t.Fatal(err)
	}
	publish(t, s, 2, "ASSET_ADDED")
	ds, err := storetest.Deliveries(s.Claim(ctx, hookd.ClaimRequest{Worker: "w", Limit: 10, Lease: time.Minute, Workers: storetest.Workers}))
	if err != nil || len(ds) != 2 {
		t.Fatalf("claim: %d deliveries, %v; want 2", len(ds), err)
	}
	next := time.Now().Add(time.Hour)
	results := make([]hookd.AttemptResult, len(ds))
	for i, d := range ds {
		results[i] = hookd.AttemptResult{DeliveryID: d.ID, WebhookID: d.WebhookID, Worker: "w", Attempt: 1, At: time.Now(),
			HTTPStatus: 503, ErrorClass: hookd.ClassStatus, NextAttemptAt: &next}
	}
	if err := s.Complete(ctx, results); err != nil {
		t.Fatal(err)
	}
	rows, err := s.Pool().Query(ctx, `SELECT op || ' ' || mode FROM commit_modes ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	// The publish's two inserts, the claim's two leases, the Complete's two
	// retries.
	want := []string{"INSERT on", "INSERT on", "UPDATE on", "UPDATE on", "UPDATE on", "UPDATE on"}
	if !slices.Equal(got, want) {
		t.Errorf("the queue's writes and their commits' synchronous_commit: %q, want %q", got, want)
	}
}

// TestProbesLockWebhooksInIDOrder: a claim that takes the probes of two
// open circuits locks their webhooks in id order, as a Complete locks the
// webhooks of its results (healthSQL). It used to lock them in the order
// it served them (least recently served first), and a Complete holding the
// lower id and waiting for the higher one deadlocked with it.
func TestProbesLockWebhooksInIDOrder(t *testing.T) {
	clock := clocktest.New(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC))
	s := pgtest.Open(t, storeopt.WithClock(clock),
		storeopt.WithCircuitPolicy(hookd.CircuitPolicy{Failures: 1, Cooldown: time.Second, MaxCooldown: time.Second}))
	ctx := ctxT(t)
	low, high := newWebhook(t, s, "E1"), newWebhook(t, s, "E2")
	fail := func(worker, event string) {
		publish(t, s, 1, event)
		ds, err := storetest.Deliveries(s.Claim(ctx, hookd.ClaimRequest{Worker: worker, Limit: 1, Lease: time.Minute, Workers: storetest.Workers}))
		if err != nil || len(ds) != 1 {
			t.Fatalf("claim: %d, %v", len(ds), err)
		}
		next := clock.Now().Add(time.Hour)
		if err := s.Complete(ctx, []hookd.AttemptResult{{DeliveryID: ds[0].ID, WebhookID: ds[0].WebhookID, Worker: worker,
			Attempt: 1, At: clock.Now(), HTTPStatus: 503, ErrorClass: hookd.ClassStatus, NextAttemptAt: &next}}); err != nil {
			t.Fatal(err)
		}
		publish(t, s, 1, event) // the probe's delivery
	}
	fail("a", "E2") // the higher id is served first, so its probe comes first
	clock.Advance(time.Millisecond)
	fail("b", "E1")
	clock.Advance(2 * time.Second) // both circuits' probes are due

	tx, err := s.Pool().Begin(ctx) // a Complete of both: the lower id first
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT id FROM webhooks WHERE id = $1 FOR NO KEY UPDATE`, low.ID); err != nil {
		t.Fatal(err)
	}
	claimed := make(chan error, 1)
	go func() {
		ds, err := storetest.Deliveries(s.Claim(ctx, hookd.ClaimRequest{Worker: "p", Limit: 10, Lease: time.Minute, Workers: storetest.Workers}))
		if err == nil && len(ds) != 2 {
			err = fmt.Errorf("claimed %d deliveries, want both probes", len(ds))
		}
		claimed <- err
	}()
	// Until the claim waits for the lower id's lock (holding the higher
	// id's, before the fix).
	awaitLockWaits(t, s, claimed, 1, "transactionid", "tuple")
	if _, err := tx.Exec(ctx, `SELECT id FROM webhooks WHERE id = $1 FOR NO KEY UPDATE`, high.ID); err != nil {
		t.Errorf("the Complete's second lock: %v", err)
	}
	tx.Rollback(ctx)
	if err := <-claimed; err != nil {
		t.Errorf("the claim: %v", err)
	}
}

// TestProbeNeedsADelivery: a claim whose probe finds the webhook's due
// delivery held by another transaction takes no probe, and leaves the
// circuit open, its probe due: it used to leave it half open, with no probe
// out, until the probe's lease ran out.
func TestProbeNeedsADelivery(t *testing.T) {
	clock := clocktest.New(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	s := pgtest.Open(t, storeopt.WithClock(clock),
		storeopt.WithCircuitPolicy(hookd.CircuitPolicy{Failures: 1, Cooldown: time.Second, MaxCooldown: time.Second}))
	ctx := ctxT(t)
	w := newWebhook(t, s, "E")
	claim := func() []*hookd.Delivery {
		t.Helper()
		ds, err := storetest.Deliveries(s.Claim(ctx, hookd.ClaimRequest{Worker: "w", Limit: 10, Lease: time.Minute, Workers: storetest.Workers}))
		if err != nil {
			t.Fatal(err)
		}
		return ds
	}
	circuit := func(want hookd.CircuitState) {
		t.Helper()
		c, err := s.Circuit(ctx, w.ID)
		if err != nil || c.State != want {
			t.Fatalf("circuit %+v (%v), want %s", c, err, want)
		}
	}
	publish(t, s, 1, "E")
	ds := claim()
	next := clock.Now().Add(time.Hour)
	if err := s.Complete(ctx, []hookd.AttemptResult{{DeliveryID: ds[0].ID, WebhookID: w.ID, Worker: "w",
		Attempt: 1, At: clock.Now(), HTTPStatus: 503, ErrorClass: hookd.ClassStatus, NextAttemptAt: &next}}); err != nil {
		t.Fatal(err)
	}
	circuit(hookd.CircuitOpen)
	publish(t, s, 1, "E")
	clock.Advance(2 * time.Second) // the probe is due

	holder, err := s.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Rollback(context.Background())
	if _, err := holder.Exec(ctx, `SELECT id FROM deliveries WHERE webhook_id = $1 AND state = 'pending' FOR UPDATE`, w.ID); err != nil {
		t.Fatal(err)
	}
	if ds := claim(); len(ds) != 0 {
		t.Fatalf("claimed %d deliveries held by another transaction", len(ds))
	}
	circuit(hookd.CircuitOpen)
	holder.Rollback(ctx)
	if ds := claim(); len(ds) != 1 {
		t.Fatalf("claimed %d deliveries, want the probe", len(ds))
	}
	circuit(hookd.CircuitHalfOpen)
}
