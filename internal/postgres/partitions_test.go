package postgres_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd/internal/postgres/pgtest"
)

// historyTables are the tables 0016 converts (and events, which 0017
// extends), with how to read all their rows in a stable order, as they were
// before.
var historyTables = map[string]string{
	"attempts":   `SELECT to_jsonb(t)::text FROM attempts t ORDER BY id`,
	"deliveries": `SELECT to_jsonb(t)::text FROM deliveries t ORDER BY id`,
	"events":     `SELECT (to_jsonb(t) - 'erased_at')::text FROM events t ORDER BY id`,
}

// TestUpgradeToPartitionedHistory makes a database with the migrations
// before 0016 and rows over several days, in every state, then migrates it:
// every row is kept as it was, the days have partitions and the identities
// carry on.
func TestUpgradeToPartitionedHistory(t *testing.T) {
	schema := pgtest.Schema(t)
	ctx := ctxT(t)
	conn, err := pgx.ConnectConfig(ctx, pgtest.Config(t, schema).ConnConfig)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := conn.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec(`CREATE TABLE schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`)
	files, _ := filepath.Glob("migrations/*.sql")
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".sql")
		if name >= "0016" {
			break
		}
		sql, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, string(sql), pgx.QueryExecModeSimpleProtocol); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		exec(`INSERT INTO schema_migrations (version) VALUES ($1)`, name)
	}

	// Two webhooks; 40 events over four days (2026-03-01 to 04), each with
	// a delivery: pending, succeeded or failed, with one or two attempts.
	exec(`INSERT INTO webhooks (name, http_url, http_method, created_at, updated_at, signing_secret)
		SELECT 'w' || i, 'http://127.0.0.1:1/', 'POST', '2026-03-01Z', '2026-03-01Z', 's' FROM generate_series(1, 2) i`)
	exec(`INSERT INTO events (id, event, project_id, user_id, data, created_at, trace_parent, publisher_key_id, deliveries)
		SELECT 'e' || i, 'ASSET_ADDED', 'p', i, json_build_object('n', i), '2026-03-01Z'::timestamptz + i * interval '2 hours', '', 0, 1
		FROM generate_series(1, 40) i`)
	exec(`INSERT INTO deliveries (webhook_id, event_id, message_id, state, attempts, next_attempt_at, created_at, last_attempt_at)
		SELECT 1 + i % 2, 'e' || i, 'msg_' || i, (ARRAY['pending', 'succeeded', 'failed'])[1 + i % 3], 1 + i % 2,
		       '2026-03-01Z'::timestamptz + i * interval '2 hours', '2026-03-01Z'::timestamptz + i * interval '2 hours',
		       CASE WHEN i % 5 = 0 THEN NULL ELSE '2026-03-01Z'::timestamptz + i * interval '2 hours' + interval '1 minute' END
		FROM generate_series(1, 40) i`)
	exec(`INSERT INTO attempts (delivery_id, webhook_id, event_id, event, message_id, attempt, success, http_status,
		                        duration_ns, request_headers, response_body, created_at)
		SELECT d.id, d.webhook_id, d.event_id, 'ASSET_ADDED', d.message_id, a, d.state = 'succeeded', 200, 1000,
		       '{"webhook-id": "x"}', 'body ' || d.id, d.created_at + a * interval '1 minute'
		FROM deliveries d CROSS JOIN LATERAL generate_series(1, d.attempts) a`)
	before := map[string][]string{}
	for table, q := range historyTables {
		before[table] = rowsOf(t, conn, q)
		if len(before[table]) == 0 {
			t.Fatalf("no %s made", table)
		}
	}

	s := pgtest.OpenSchema(t, schema)
	for table, q := range historyTables {
		if after := rowsOf(t, conn, q); !slices.Equal(after, before[table]) {
			t.Errorf("%s: %d rows before the migration, %d after, or they changed", table, len(before[table]), len(after))
		}
	}
	wantParts := map[string][]string{
		"attempts":        {"attempts_default", "attempts_p20260301", "attempts_p20260302", "attempts_p20260303", "attempts_p20260304"},
		"deliveries":      {"deliveries_done", "deliveries_queue"},
		"deliveries_done": {"deliveries_done_default", "deliveries_done_p20260301", "deliveries_done_p20260302", "deliveries_done_p20260303", "deliveries_done_p20260304"},
	}
	for parent, want := range wantParts {
		if got := partitionsOf(t, s.Pool(), parent); !slices.Equal(got, want) {
			t.Errorf("partitions of %s: %v, want %v", parent, got, want)
		}
	}
	// The finished deliveries are out of the queue; the unattempted
	// finished ones (no last attempt) are in the default partition.
	var queued, undated int
	must(t, s.Pool().QueryRow(ctx, `SELECT (SELECT count(*) FROM deliveries_queue),
		(SELECT count(*) FROM deliveries_done_default)`).Scan(&queued, &undated))
	if queued != 13 || undated != 6 {
		t.Errorf("deliveries_queue holds %d, deliveries_done_default %d; want 13 and 6", queued, undated)
	}
	// The identities carry on after the copied rows.
	var maxAttempt, maxDelivery, nextAttempt, nextDelivery int64
	must(t, s.Pool().QueryRow(ctx, `SELECT (SELECT max(id) FROM attempts), (SELECT max(id) FROM deliveries),
		nextval(pg_get_serial_sequence('attempts', 'id')), nextval(pg_get_serial_sequence('deliveries', 'id'))`).
		Scan(&maxAttempt, &maxDelivery, &nextAttempt, &nextDelivery))
	if nextAttempt <= maxAttempt || nextDelivery <= maxDelivery {
		t.Errorf("next ids %d, %d after %d, %d", nextAttempt, nextDelivery, maxAttempt, maxDelivery)
	}
}

// querier is a connection or a pool.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func rowsOf(t *testing.T, q querier, sql string) []string {
	t.Helper()
	rows, err := q.Query(ctxT(t), sql)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// partitionsOf lists parent's partitions by name.
func partitionsOf(t *testing.T, q querier, parent string) []string {
	t.Helper()
	return rowsOf(t, q, `SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = '`+parent+`'::regclass ORDER BY 1`)
}
