package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/api"
	"github.com/hookd/hookd/client/outbox"
	hookdhttp "github.com/hookd/hookd/internal/http"
	"github.com/hookd/hookd/internal/postgres"
	"github.com/hookd/hookd/internal/postgres/pgtest"
)

// platform connects to the test database as a platform would: on its own
// connection, with the default search_path, calling hookd's schema by name.
func platform(t *testing.T) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// outboxStore is a store on a schema of its own with one webhook of
// ASSET_ADDED, and that schema's name.
func outboxStore(t *testing.T) (*postgres.Store, string, *hookd.Webhook) {
	t.Helper()
	schema := pgtest.Schema(t)
	s := pgtest.OpenSchema(t, schema)
	w := &hookd.Webhook{Name: "w", HTTPURL: "https://receiver.example/w", HTTPMethod: "POST", TriggerEvents: []string{"ASSET_ADDED"}}
	if err := s.CreateWebhook(t.Context(), w, ""); err != nil {
		t.Fatal(err)
	}
	return s, schema, w
}

func relay(t *testing.T, s *postgres.Store) hookd.OutboxRelayed {
	t.Helper()
	res, err := s.RelayOutbox(t.Context(), 1000, hookdhttp.OutboxEvent)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func count(t *testing.T, s *postgres.Store, query string, args ...any) int {
	t.Helper()
	var n int
	if err := s.Pool().QueryRow(t.Context(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestOutboxTransactions: an event published in a transaction that rolls
// back is never delivered; one that commits is delivered once, with the
// data as written, and publishing its id again stores nothing.
func TestOutboxTransactions(t *testing.T) {
	s, schema, w := outboxStore(t)
	conn := platform(t)
	pub := outbox.Publisher{Schema: schema}
	ctx := t.Context()
	data := `{"price": 1.50, "big": 12345678901234567890, "k": 1, "k": 2}`

	inTx := func(commit bool, e *api.Event) {
		t.Helper()
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, `SELECT 1`); err != nil { // the platform's own change
			t.Fatal(err)
		}
		if err := pub.PublishTx(ctx, tx, e); err != nil {
			t.Fatal(err)
		}
		if commit {
			err = tx.Commit(ctx)
		} else {
			err = tx.Rollback(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	inTx(false, &api.Event{ID: "evt_rolled_back", Event: "ASSET_ADDED", Data: []byte(data)})
	if res := relay(t, s); res.Rows != 0 {
		t.Fatalf("relayed %+v after a rollback, want nothing", res)
	}
	inTx(true, &api.Event{ID: "evt_committed", Event: "ASSET_ADDED", Data: []byte(data)})

	// While the relay's transaction is open, the row is the relay's alone.
	res := relay(t, s)
	if res.Rows != 1 || len(res.Published) != 1 || res.Published[0].Event.ID != "evt_committed" || res.Published[0].Deliveries != 1 {
		t.Fatalf("relayed %+v, want evt_committed with one delivery", res)
	}
	if got := string(res.Published[0].Event.Data); got != data {
		t.Fatalf("data %s, want %s as written", got, data)
	}
	if res := relay(t, s); res.Rows != 0 {
		t.Fatalf("relayed again %+v, want nothing", res)
	}
	if n := count(t, s, `SELECT count(*) FROM deliveries WHERE webhook_id = $1`, w.ID); n != 1 {
		t.Fatalf("%d deliveries, want 1", n)
	}
	if n := count(t, s, `SELECT count(*) FROM events WHERE id = 'evt_rolled_back'`); n != 0 {
		t.Fatal("the rolled-back event was stored")
	}

	// The same id again (a platform retrying its transaction): a
	// duplicate, nothing stored.
	inTx(true, &api.Event{ID: "evt_committed", Event: "ASSET_ADDED"})
	res = relay(t, s)
	if res.Rows != 1 || !res.Published[0].Duplicate || len(res.Rejected) != 0 {
		t.Fatalf("relayed the repeat as %+v, want a duplicate", res)
	}
	if n := count(t, s, `SELECT count(*) FROM deliveries`); n != 1 {
		t.Fatalf("%d deliveries after the repeat, want 1", n)
	}
}

// TestOutboxRejects: rows that the API would refuse, and ids that an API
// key published, are set aside with the API's reason, and the rows around
// them are published.
func TestOutboxRejects(t *testing.T) {
	s, schema, _ := outboxStore(t)
	conn := platform(t)
	ctx := t.Context()
	if _, err := s.PublishEvents(ctx, []*hookd.Event{{ID: "evt_of_a_key", Event: "ASSET_ADDED", PublisherKeyID: 7}}); err != nil {
		t.Fatal(err)
	}
	fn := pgx.Identifier{schema, "hookd_publish"}.Sanitize()
	for _, call := range []string{
		`SELECT ` + fn + `('ASSET_ADDED', id => 'evt_first')`,
		`SELECT ` + fn + `('NOT_AN_EVENT')`,
		`SELECT ` + fn + `('ASSET_ADDED', data => '[1, 2]')`,
		`SELECT ` + fn + `('ASSET_ADDED', id => 'evt_of_a_key')`,
		`SELECT ` + fn + `('ASSET_ADDED', data => json_build_object('pad', repeat('x', 1048576)))`,
		`SELECT ` + fn + `('ASSET_ADDED', project_id => 'GsrwPNm6nJ7CKRYnQZl6', user_id => 45, data => '{"a": 1}', id => 'evt_last')`,
	} {
		if _, err := conn.Exec(ctx, call); err != nil {
			t.Fatalf("%s: %v", call, err)
		}
	}
	res := relay(t, s)
	var published []string
	for _, p := range res.Published {
		published = append(published, p.Event.ID)
	}
	if res.Rows != 6 || strings.Join(published, ",") != "evt_first,evt_last" || len(res.Rejected) != 4 {
		t.Fatalf("relayed %d rows, published %v, rejected %+v", res.Rows, published, res.Rejected)
	}
	rows, _ := s.Pool().Query(ctx, `SELECT reason FROM outbox_rejected ORDER BY seq`)
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"Invalid parameter 'event' value \"NOT_AN_EVENT\": Must be one of:",
		"Invalid parameter 'data' value [1, 2]: Must be a Hash",
		`event "evt_of_a_key": the id is taken by an event another API key published`,
		"data is 1048588 bytes, over the 1048576 an event's data may have",
	}
	for i := range want {
		if i >= len(got) || !strings.HasPrefix(got[i], want[i]) {
			t.Fatalf("reasons %q, want %q", got, want)
		}
	}
	if n := count(t, s, `SELECT count(*) FROM outbox`); n != 0 {
		t.Fatalf("%d rows left in the outbox", n)
	}
	// A rejected row is kept whole.
	if n := count(t, s, `SELECT max(octet_length(data::text)) FROM outbox_rejected`); n != 1048588 {
		t.Fatalf("the largest rejected data is %d bytes, want all 1048588", n)
	}
}

// TestOutboxLargeRows: a transaction of the relay reads a bounded amount
// of data; rows beyond it wait for the next, and all are published.
func TestOutboxLargeRows(t *testing.T) {
	s, schema, _ := outboxStore(t)
	conn := platform(t)
	fn := pgx.Identifier{schema, "hookd_publish"}.Sanitize()
	const rows = 40 // of 1 MB each: more than one transaction's worth
	if _, err := conn.Exec(t.Context(), `SELECT `+fn+`('ASSET_ADDED', data => json_build_object('pad', repeat('x', 1048500)))
		FROM generate_series(1, $1)`, rows); err != nil {
		t.Fatal(err)
	}
	first := relay(t, s)
	if first.Rows == 0 || first.Rows >= rows || len(first.Rejected) != 0 {
		t.Fatalf("the first transaction took %d rows (%d rejected), want some of %d", first.Rows, len(first.Rejected), rows)
	}
	total := first.Rows
	for total < rows {
		res := relay(t, s)
		if res.Rows == 0 {
			t.Fatalf("%d of %d rows relayed", total, rows)
		}
		total += res.Rows
	}
	if n := count(t, s, `SELECT count(*) FROM deliveries`); n != rows {
		t.Fatalf("%d deliveries, want %d", n, rows)
	}
}

// TestOutboxRelaysShareRows: stores on one schema (processes) relaying at
// once publish every row exactly once.
func TestOutboxRelaysShareRows(t *testing.T) {
	s, schema, w := outboxStore(t)
	other := pgtest.OpenSchema(t, schema)
	conn := platform(t)
	ctx := t.Context()
	const n = 3000
	if _, err := conn.Exec(ctx, `SELECT `+pgx.Identifier{schema, "hookd_publish"}.Sanitize()+
		`('ASSET_ADDED', id => 'evt_' || i) FROM generate_series(1, $1) AS i`, n); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	counts := make([]int, 4)
	for i := range counts {
		wg.Go(func() {
			st := s
			if i%2 == 1 {
				st = other
			}
			for {
				res, err := st.RelayOutbox(ctx, 100, hookdhttp.OutboxEvent)
				if err != nil {
					t.Error(err)
					return
				}
				if res.Rows == 0 {
					return
				}
				for _, p := range res.Published {
					if p.Duplicate {
						t.Errorf("event %s relayed twice", p.Event.ID)
					}
				}
				counts[i] += res.Rows
			}
		})
	}
	wg.Wait()
	if total := counts[0] + counts[1] + counts[2] + counts[3]; total != n {
		t.Fatalf("relayed %d rows (%v), want %d", total, counts, n)
	}
	if got := count(t, s, `SELECT count(*) FROM deliveries WHERE webhook_id = $1`, w.ID); got != n {
		t.Fatalf("%d deliveries, want %d", got, n)
	}
}

// TestOutboxPublisherRole: a role with only the documented grants (USAGE
// on hookd's schema, EXECUTE on hookd_publish) publishes, and can read or
// write none of hookd's tables, the outbox included; without EXECUTE it
// cannot publish.
func TestOutboxPublisherRole(t *testing.T) {
	s, schema, _ := outboxStore(t)
	conn := platform(t)
	ctx := t.Context()
	exec := func(sql string) error {
		_, err := conn.Exec(ctx, sql)
		return err
	}
	schemaID, roleID := pgx.Identifier{schema}.Sanitize(), publisherRole(t, conn, schema)
	fn := pgx.Identifier{schema, "hookd_publish"}.Sanitize()
	if err := exec(`SET ROLE ` + roleID); err != nil {
		t.Fatal(err)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := (outbox.Publisher{Schema: schema}).PublishTx(ctx, tx, &api.Event{ID: "evt_role", Event: "ASSET_ADDED"}); err != nil {
		t.Fatalf("the publisher role cannot publish: %v", err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"events", "deliveries", "webhooks", "api_keys", "outbox", "outbox_rejected", "notifications"} {
		err := exec(`SELECT 1 FROM ` + schemaID + `.` + table + ` LIMIT 1`)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
			t.Errorf("the publisher role reads %s: %v, want permission denied", table, err)
		}
	}
	if err := exec(`INSERT INTO ` + schemaID + `.outbox (event) VALUES ('ASSET_ADDED')`); err == nil {
		t.Error("the publisher role inserts into the outbox directly")
	}
	if err := exec(`RESET ROLE; REVOKE EXECUTE ON FUNCTION ` + fn + `(text, text, bigint, json, text) FROM ` + roleID + `; SET ROLE ` + roleID); err != nil {
		t.Fatal(err)
	}
	if err := exec(`SELECT ` + fn + `('ASSET_ADDED')`); err == nil {
		t.Error("the role publishes without EXECUTE: PUBLIC must not have it")
	}
	if err := exec(`RESET ROLE`); err != nil {
		t.Fatal(err)
	}
	if res := relay(t, s); len(res.Published) != 1 || res.Published[0].Event.ID != "evt_role" {
		t.Fatalf("relayed %+v, want the role's event", res)
	}
}

// publisherRole creates, with conn, a role with the README's grants on
// schema (USAGE on it, EXECUTE on hookd_publish), dropped when the test
// ends, and returns its name as an identifier.
func publisherRole(t *testing.T, conn *pgx.Conn, schema string) string {
	t.Helper()
	var b [6]byte
	rand.Read(b[:])
	role := pgx.Identifier{"hookd_publisher_" + hex.EncodeToString(b[:])}.Sanitize()
	for _, sql := range []string{
		`CREATE ROLE ` + role + ` NOLOGIN`,
		`GRANT USAGE ON SCHEMA ` + pgx.Identifier{schema}.Sanitize() + ` TO ` + role,
		`GRANT EXECUTE ON FUNCTION ` + pgx.Identifier{schema, "hookd_publish"}.Sanitize() + `(text, text, bigint, json, text) TO ` + role,
	} {
		if _, err := conn.Exec(t.Context(), sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	t.Cleanup(func() { // roles are cluster-wide
		c, err := pgx.Connect(context.Background(), pgtest.URL(t))
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), `DROP OWNED BY `+role+`; DROP ROLE `+role); err != nil {
			t.Errorf("drop role %s: %v", role, err)
		}
	})
	return role
}

// publishedIDs is the ids of the events res published, in order.
func publishedIDs(res hookd.OutboxRelayed) []string {
	ids := make([]string, len(res.Published))
	for i, p := range res.Published {
		ids[i] = p.Event.ID
	}
	return ids
}

// outboxIDs is evt_from … evt_to.
func outboxIDs(from, to int) []string {
	var ids []string
	for i := from; i <= to; i++ {
		ids = append(ids, fmt.Sprintf("evt_%d", i))
	}
	return ids
}

// TestOutboxByteBudgetKeepsTheOrder: when a row does not fit in a
// transaction's byte budget, the smaller rows behind it wait with it: a
// transaction never takes a later row before an earlier one.
func TestOutboxByteBudgetKeepsTheOrder(t *testing.T) {
	s, schema, _ := outboxStore(t)
	conn := platform(t)
	fn := pgx.Identifier{schema, "hookd_publish"}.Sanitize()
	// 16 rows of about 1 MB fill the budget (16 MB), the 17th does not fit,
	// the 18th, small, would.
	if _, err := conn.Exec(t.Context(), `SELECT `+fn+`('ASSET_ADDED', id => 'evt_' || i,
		data => CASE WHEN i <= 17 THEN json_build_object('pad', repeat('x', 1048500)) ELSE '{}' END)
		FROM generate_series(1, 18) AS i`); err != nil {
		t.Fatal(err)
	}
	first := relay(t, s)
	if got, want := publishedIDs(first), outboxIDs(1, 16); !slices.Equal(got, want) || !first.More {
		t.Fatalf("the first transaction published %v (more: %t), want %v and more", got, first.More, want)
	}
	second := relay(t, s)
	if got, want := publishedIDs(second), outboxIDs(17, 18); !slices.Equal(got, want) || second.More {
		t.Fatalf("the second transaction published %v (more: %t), want %v and no more", got, second.More, want)
	}
}

// TestOutboxRelaysTakeTurns: a relay waits for the one before it (another
// process's, whose rows it cannot see yet) rather than publish the rows
// behind that one's first.
func TestOutboxRelaysTakeTurns(t *testing.T) {
	s, schema, _ := outboxStore(t)
	other := pgtest.OpenSchema(t, schema)
	conn := platform(t)
	ctx := t.Context()
	if _, err := conn.Exec(ctx, `SELECT `+pgx.Identifier{schema, "hookd_publish"}.Sanitize()+
		`('ASSET_ADDED', id => 'evt_' || i) FROM generate_series(1, 3) AS i`); err != nil {
		t.Fatal(err)
	}
	// The other process's relay, midway: it holds the turn and has taken
	// the first row.
	first, err := other.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Rollback(context.Background())
	if _, err := first.Exec(ctx, postgres.RelayLockSQL, "60000"); err != nil {
		t.Fatal(err)
	}
	if _, err := first.Exec(ctx, `SELECT seq FROM outbox ORDER BY seq LIMIT 1 FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	type result struct {
		res hookd.OutboxRelayed
		err error
	}
	second := make(chan result, 1)
	done := make(chan error, 1)
	go func() {
		res, err := s.RelayOutbox(ctx, 1000, hookdhttp.OutboxEvent)
		second <- result{res, err}
		done <- err
	}()
	awaitLockWaits(t, s, done, 1, "advisory")
	if err := first.Rollback(ctx); err != nil { // the other relay failed: its row is back
		t.Fatal(err)
	}
	r := <-second
	if r.err != nil {
		t.Fatal(r.err)
	}
	if got, want := publishedIDs(r.res), outboxIDs(1, 3); !slices.Equal(got, want) {
		t.Fatalf("published %v, want %v", got, want)
	}
}
