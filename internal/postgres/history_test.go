package postgres_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/clocktest"
	"github.com/hookd/hookd/internal/postgres"
	"github.com/hookd/hookd/internal/postgres/pgtest"
	"github.com/hookd/hookd/internal/storeopt"
	"github.com/hookd/hookd/internal/storetest"
)

// TestHistory runs the contract of payload retention and erasure, looking
// for what they clear in every column of every table of the schema.
func TestHistory(t *testing.T) {
	pgtest.URL(t)
	storetest.RunHistory(t, func(t *testing.T, clock hookd.Clock) hookd.Store {
		return pgtest.Open(t, storeopt.WithClock(clock))
	}, traces)
}

// traces lists the "table.column" of every column (read as text) of every
// table of the store's schema (information_schema) that holds needle.
func traces(t *testing.T, st hookd.Store, needle string) []string {
	t.Helper()
	pool := st.(*postgres.Store).Pool()
	ctx := ctxT(t)
	rows, err := pool.Query(ctx, `SELECT c.table_name::text, c.column_name::text FROM information_schema.columns c
		JOIN information_schema.tables t USING (table_schema, table_name)
		WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' ORDER BY 1, 2`)
	if err != nil {
		t.Fatal(err)
	}
	cols, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([2]string, error) {
		var c [2]string
		return c, r.Scan(&c[0], &c[1])
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(cols) < 20 {
		t.Fatalf("only %d columns found", len(cols))
	}
	var at []string
	for _, c := range cols {
		var n int
		q := fmt.Sprintf(`SELECT count(*) FROM %s WHERE strpos(%s::text, $1) > 0`,
			pgx.Identifier{c[0]}.Sanitize(), pgx.Identifier{c[1]}.Sanitize())
		if err := pool.QueryRow(ctx, q, needle).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if n > 0 {
			at = append(at, c[0]+"."+c[1])
		}
	}
	return at
}

// TestPartitionsAheadAndExpired moves the store's clock over days: Prune
// makes the day partitions ahead (hookd.DayPartitions) and drops those
// whose day the retention no longer keeps, with their rows.
func TestPartitionsAheadAndExpired(t *testing.T) {
	clock := clocktest.New(time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC))
	s := pgtest.Open(t, storeopt.WithClock(clock))
	ctx := ctxT(t)
	retention := 2 * 24 * time.Hour
	prune := func() int64 {
		t.Helper()
		n, err := s.Prune(ctx, clock.Now().Add(-retention))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	days := func(parent string) []string {
		t.Helper()
		var out []string
		for _, p := range partitionsOf(t, s.Pool(), parent) {
			if p != parent+"_default" {
				out = append(out, p[len(parent)+2:])
			}
		}
		return out
	}
	prune()
	for _, parent := range []string{"attempts", "deliveries_done"} {
		if got, want := days(parent), []string{"20260610", "20260611", "20260612", "20260613"}; !slices.Equal(got, want) {
			t.Errorf("%s: day partitions %v, want %v", parent, got, want)
		}
	}

	// A day of deliveries, each attempted and finished on 2026-06-10.
	w := newWebhook(t, s, "ASSET_ADDED")
	publish(t, s, 5, "ASSET_ADDED")
	ds, err := storetest.Deliveries(s.Claim(ctx, hookd.ClaimRequest{Worker: "w", Limit: 10, Lease: time.Minute, Workers: storetest.Workers}))
	if err != nil || len(ds) != 5 {
		t.Fatalf("claimed %d, %v", len(ds), err)
	}
	var results []hookd.AttemptResult
	for _, d := range ds {
		results = append(results, hookd.AttemptResult{DeliveryID: d.ID, At: clock.Now(), Success: true, HTTPStatus: 200})
	}
	if err := s.Complete(ctx, results); err != nil {
		t.Fatal(err)
	}
	var inDay, queued int
	must(t, s.Pool().QueryRow(ctx, `SELECT (SELECT count(*) FROM attempts_p20260610) + (SELECT count(*) FROM deliveries_done_p20260610),
		(SELECT count(*) FROM deliveries_queue)`).Scan(&inDay, &queued))
	if inDay != 10 || queued != 0 {
		t.Fatalf("the day's partitions hold %d rows, the queue %d; want 10 and 0", inDay, queued)
	}

	// Two days on, the 10th is still kept; three days on, it goes.
	clock.Set(time.Date(2026, 6, 12, 23, 0, 0, 0, time.UTC))
	if n := prune(); n != 0 {
		t.Errorf("pruned %d rows within the retention", n)
	}
	clock.Set(time.Date(2026, 6, 13, 1, 0, 0, 0, time.UTC))
	if n := prune(); n != 15 { // 5 attempts, 5 deliveries, 5 events
		t.Errorf("pruned %d rows, want 15", n)
	}
	for _, parent := range []string{"attempts", "deliveries_done"} {
		if got, want := days(parent), []string{"20260611", "20260612", "20260613", "20260614", "20260615", "20260616"}; !slices.Equal(got, want) {
			t.Errorf("%s: day partitions %v, want %v", parent, got, want)
		}
	}
	if log, err := s.Log(ctx, w.ID, true, 1, 10); err != nil || len(log) != 0 {
		t.Errorf("log after the day expired: %d entries, %v", len(log), err)
	}
}

// TestLogReplica reads log pages from the replica the store was opened
// with: here another schema, whose log differs from the primary's.
func TestLogReplica(t *testing.T) {
	ctx := ctxT(t)
	replicaSchema := pgtest.Schema(t)
	replica := pgtest.OpenSchema(t, replicaSchema)
	w := newWebhook(t, replica, "ASSET_ADDED")
	publish(t, replica, 1, "ASSET_ADDED")
	ds, err := storetest.Deliveries(replica.Claim(ctx, hookd.ClaimRequest{Worker: "w", Limit: 10, Lease: time.Minute, Workers: storetest.Workers}))
	if err != nil || len(ds) != 1 {
		t.Fatalf("claimed %d, %v", len(ds), err)
	}
	if err := replica.Complete(ctx, []hookd.AttemptResult{{DeliveryID: ds[0].ID, At: time.Now(), Success: true, HTTPStatus: 200}}); err != nil {
		t.Fatal(err)
	}

	primary := pgtest.Open(t, storeopt.WithLogReplica(pgtest.URLFor(t, replicaSchema)))
	if mine := newWebhook(t, primary, "ASSET_ADDED"); mine.ID != w.ID {
		t.Fatalf("webhook ids %d and %d: the test needs the same", mine.ID, w.ID)
	}
	log, err := primary.Log(ctx, w.ID, true, 1, 10)
	if err != nil || len(log) != 1 || log[0].DeliveryID != ds[0].ID {
		t.Fatalf("log through the replica: %+v, %v", log, err)
	}
	if _, err := primary.Log(ctx, w.ID+1, true, 1, 10); !errors.Is(err, hookd.ErrNotFound) {
		t.Errorf("an unknown webhook's log: %v, want ErrNotFound", err)
	}
}

// An Erase that comes while FanOut creates an event's deliveries waits for
// them and cancels them: FanOut read the event without locking it, the
// erasure committed in between, and the deliveries that FanOut then
// created went out with the erased event ({}).
func TestEraseWaitsForTheFanOut(t *testing.T) {
	s := pgtest.Open(t, storeopt.WithFanOutChunk(storetest.FanOutChunk))
	ctx := ctxT(t)
	var ordered *hookd.Webhook
	for range storetest.FanOutChunk + 1 {
		ordered = newWebhook(t, s, "ASSET_ADDED")
	}
	if err := s.UpdateSettings(ctx, ordered.ID, hookd.WebhookSettings{Ordering: hookd.OrderWebhook}.Update()); err != nil {
		t.Fatal(err)
	}
	e := publish(t, s, 1, "ASSET_ADDED")[0].Event // beyond the chunk: left to FanOut
	x := holdLane(t, s, ordered.ID, &e)
	fannedOut := make(chan error, 1)
	go func() {
		for {
			more, err := s.FanOut(ctx)
			if err != nil || !more {
				fannedOut <- err
				return
			}
		}
	}()
	awaitLockWaits(t, s, fannedOut, 1, "advisory") // FanOut has read the event, and waits for the ordered lane
	erased := make(chan error, 1)
	go func() {
		_, err := s.Erase(ctx, hookd.Erasure{EventID: e.ID})
		erased <- err
	}()
	// The erasure waits for FanOut's lock on the event (before the fix, it
	// did not wait: it ended, and the test stops here).
	awaitLockWaits(t, s, erased, 1, "transactionid")
	if err := x.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-fannedOut; err != nil {
		t.Fatal(err)
	}
	if err := <-erased; err != nil {
		t.Fatal(err)
	}
	ds, err := storetest.Deliveries(s.Claim(ctx, hookd.ClaimRequest{Worker: "w", Limit: 100, Lease: time.Minute, Workers: storetest.Workers}))
	if err != nil || len(ds) != 0 {
		t.Errorf("claimed %d deliveries of the erased event (%v)", len(ds), err)
	}
}
