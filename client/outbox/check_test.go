package outbox_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/api"
	"github.com/hookd/hookd/client"
	"github.com/hookd/hookd/client/outbox"
	hookdhttp "github.com/hookd/hookd/internal/http"
	"github.com/hookd/hookd/internal/postgres"
	"github.com/hookd/hookd/internal/postgres/pgtest"
)

// platformOf returns hookd's store in a schema of its own and the
// platform's connection to it, its search_path that schema.
func platformOf(t *testing.T) (*postgres.Store, *pgx.Conn) {
	t.Helper()
	schema := pgtest.Schema(t)
	store := pgtest.OpenSchema(t, schema)
	conn, err := pgx.Connect(context.Background(), pgtest.URLFor(t, schema))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return store, conn
}

// An event that the relay would set aside after the commit is refused
// before the write, with an error naming it, and leaves the platform's
// transaction usable: what it publishes next commits. Each refused event,
// written with hookd_publish by hand, is one the relay rejects.
func TestPublishTxRefusesWhatTheRelayRejects(t *testing.T) {
	store, conn := platformOf(t)
	ctx := context.Background()

	huge := `{"caption":"` + strings.Repeat("x", hookd.MaxOutboxData) + `"}`
	idRule := ": must be 1 to 255 characters, without control characters"
	projectRule := ": must be 1 to 64 characters from A-Z, a-z, 0-9, _ and -"
	tooLong, longestProject := strings.Repeat("é", hookd.MaxEventIDLength+1), strings.Repeat("p", 64)
	spaced, empty, tooLongProject := "P 1", "", longestProject+"p"
	refused := []struct {
		id      string
		project *string
		data    string
		err     string
	}{
		{"", nil, `[1, 2]`, "data must be a JSON object"},
		{"", nil, `null`, "data must be a JSON object"},
		{"", nil, `{"a":`, "data is not valid JSON"},
		{"", nil, huge, fmt.Sprintf("data is %d bytes, over the %d an event's data may have", len(huge), hookd.MaxOutboxData)},
		{"..", nil, `{}`, `id "..": ` + hookd.RulePathSafeEventID},
		{tooLong, nil, `{}`, `id "` + tooLong + `"` + idRule},
		{"evt_\x01", nil, `{}`, `id "evt_\x01"` + idRule},
		{"evt\n", nil, `{}`, `id "evt\n"` + idRule},
		{"", &spaced, `{}`, `project_id "P 1"` + projectRule},
		{"", &empty, `{}`, `project_id ""` + projectRule},
		{"", &tooLongProject, `{}`, `project_id "` + tooLongProject + `"` + projectRule},
	}
	good := &api.Event{ID: "evt_good", Event: "ASSET_ADDED", Data: []byte(`{"ok": true}`)}
	// The longest id, of characters of two bytes and a tab, and the longest
	// project id pass.
	longest := &api.Event{ID: "\t" + strings.Repeat("é", hookd.MaxEventIDLength-1), Event: "ASSET_ADDED", ProjectID: &longestProject}
	if err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		for _, r := range refused {
			bad := &api.Event{ID: r.id, Event: "ASSET_ADDED", ProjectID: r.project, Data: []byte(r.data)}
			err := outbox.Publisher{}.PublishTx(ctx, tx, good, bad)
			if want := "hookd outbox: events[1]: " + r.err; err == nil || err.Error() != want {
				t.Errorf("data %.40s, id %.40q: %v, want %.300q", r.data, r.id, err, want)
			}
		}
		return outbox.Publisher{}.PublishTx(ctx, tx, good, longest)
	}); err != nil {
		t.Fatalf("the transaction after the refusals: %v", err)
	}
	res, err := store.RelayOutbox(ctx, 10, hookdhttp.OutboxEvent)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Published) != 2 || res.Published[0].Event.ID != good.ID || res.Published[1].Event.ID != longest.ID || len(res.Rejected) != 0 {
		t.Fatalf("relayed %+v, want the good event and the longest once each", res)
	}

	// By hand, each row either fails its write (invalid JSON; data over the
	// limit once hookd_publish checks it), failing the platform's
	// transaction with it, or commits for the relay to set aside.
	committed := 0
	for _, r := range refused {
		if pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `SELECT hookd_publish('ASSET_ADDED', data => $1::json, id => $2, project_id => $3)`, r.data, orNil(r.id), r.project)
			return err
		}) == nil {
			committed++
		}
	}
	if committed < len(refused)-2 {
		t.Fatalf("%d rows written by hand committed, want at least all %d but the invalid JSON and the data over the limit",
			committed, len(refused)-2)
	}
	res, err = store.RelayOutbox(ctx, 10, hookdhttp.OutboxEvent)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Published) != 0 || len(res.Rejected) != committed {
		t.Errorf("the relay published %d and rejected %d of the rows written by hand, want all %d rejected",
			len(res.Published), len(res.Rejected), committed)
	}
}

// plainConnector opens pgx's stdlib connections without their
// driver.NamedValueChecker, so that database/sql converts arguments with
// driver.DefaultParameterConverter, as lib/pq before 1.11 does: a Go slice
// is refused.
type plainConnector struct{ driver.Connector }

func (c plainConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return plainConn{conn, conn.(driver.ConnBeginTx), conn.(driver.ExecerContext)}, nil
}

type plainConn struct {
	driver.Conn
	driver.ConnBeginTx
	driver.ExecerContext
}

// PublishSQLTx works with a driver that takes only database/sql's standard
// types, whatever the session's settings (array_nulls off), and what it
// writes (quotes, backslashes, braces, commas, a project and an id named
// NULL, absent values, data that a JSON parser would change) reaches the
// relay byte for byte.
func TestPublishSQLTxWithStandardTypesOnly(t *testing.T) {
	schema := pgtest.Schema(t)
	store := pgtest.OpenSchema(t, schema)
	ctx := context.Background()
	cfg, err := pgx.ParseConfig(pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(plainConnector{stdlib.GetConnector(*cfg)})
	defer db.Close()
	if _, err := db.ExecContext(ctx, `SELECT $1::text[]`, []string{"a"}); err == nil {
		t.Fatal("the plain driver took a Go slice: it does not stand for lib/pq before 1.11")
	}

	null, project, user := "NULL", "P_null-1", int64(-7)
	events := []*api.Event{
		{ID: `evt_"quoted"\back, {NULL}`, Event: "ASSET_ADDED", ProjectID: &null, UserID: &user,
			Data: []byte(`{"say": "\"hi\", {NULL} \\ \u00e9 é 🎉\u0000",` + "\n\t" + `"price": 1.50,  "big": 12345678901234567890, "a": 1, "a": [ ]}`)},
		{ID: "NULL", Event: "ASSET_ADDED", ProjectID: &project},
		{Event: "ASSET_ADDED", UserID: &user},
		{Event: "ASSET_REMOVED"},
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `SET LOCAL array_nulls = off`); err != nil {
		t.Fatal(err)
	}
	if err := (outbox.Publisher{Schema: schema}).PublishSQLTx(ctx, tx, events...); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}

	var rows []hookd.OutboxRow // as the relay reads them
	res, err := store.RelayOutbox(ctx, 10, func(row hookd.OutboxRow) (*hookd.Event, error) {
		rows = append(rows, row)
		return hookdhttp.OutboxEvent(row)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(events) {
		t.Fatalf("the relay read %d rows, want %d", len(rows), len(events))
	}
	for i, row := range rows {
		sent := events[i]
		if !equalPtr(row.ID, orNil(sent.ID)) || row.Event != sent.Event || !equalPtr(row.ProjectID, sent.ProjectID) ||
			!equalPtr(row.UserID, sent.UserID) || string(row.Data) != string(sent.Data) {
			t.Errorf("events[%d]: written as %+v, data %s; want %+v, data %s", i, row, row.Data, sent, sent.Data)
		}
	}
	if len(res.Published) != len(events) || len(res.Rejected) != 0 {
		t.Fatalf("relayed %+v, want all events", res)
	}
}

// orNil is s, nil when empty: absent.
func orNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func equalPtr[T comparable](a, b *T) bool {
	return a == nil && b == nil || a != nil && b != nil && *a == *b
}

// An id or project_id that PostgreSQL's text cannot hold (invalid UTF-8,
// a NUL byte) is refused before the write, which would fail and abort the
// platform's transaction; so is data nested deeper than the client sends.
// The transaction stays usable.
func TestPublishTxRefusesWhatTheWriteFails(t *testing.T) {
	store, conn := platformOf(t)
	ctx := context.Background()

	rule := "must be valid UTF-8 without NUL bytes, as PostgreSQL's text holds"
	projectRule := "must be 1 to 64 characters from A-Z, a-z, 0-9, _ and -" // which such text breaks too
	invalidUTF8, nul := "evt_\xff", "evt_\x00"
	refused := []struct{ id, project, err string }{
		{invalidUTF8, "", `id "evt_\xff": ` + rule},
		{nul, "", `id "evt_\x00": ` + rule},
		{"", invalidUTF8, `project_id "evt_\xff": ` + projectRule},
		{"", nul, `project_id "evt_\x00": ` + projectRule},
	}
	good := &api.Event{ID: "evt_good", Event: "ASSET_ADDED"}
	tooDeep := json.RawMessage(`{"a":` + strings.Repeat("[", client.MaxDataDepth) + strings.Repeat("]", client.MaxDataDepth) + `}`)
	if err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		for _, r := range refused {
			err := outbox.Publisher{}.PublishTx(ctx, tx, good, &api.Event{ID: r.id, Event: "ASSET_ADDED", ProjectID: orNil(r.project)})
			if want := "hookd outbox: events[1]: " + r.err; err == nil || err.Error() != want {
				t.Errorf("id %q, project_id %q: %v, want %q", r.id, r.project, err, want)
			}
		}
		err := outbox.Publisher{}.PublishTx(ctx, tx, &api.Event{Event: "ASSET_ADDED", Data: tooDeep})
		if want := "hookd outbox: events[0]: " + client.CheckData(tooDeep).Error(); err == nil || err.Error() != want {
			t.Errorf("data nested %d deep: %v, want %q", client.MaxDataDepth+1, err, want)
		}
		return outbox.Publisher{}.PublishTx(ctx, tx, good)
	}); err != nil {
		t.Fatalf("the transaction after the refusals: %v", err)
	}
	res, err := store.RelayOutbox(ctx, 10, hookdhttp.OutboxEvent)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Published) != 1 || res.Published[0].Event.ID != "evt_good" || len(res.Rejected) != 0 {
		t.Fatalf("relayed %+v, want the good event once", res)
	}

	// By hand, each refused row fails its write.
	for _, r := range refused {
		if err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `SELECT hookd_publish('ASSET_ADDED', project_id => $1, id => $2)`, orNil(r.project), orNil(r.id))
			return err
		}); err == nil {
			t.Errorf("id %q, project_id %q written by hand: committed, want the write to fail", r.id, r.project)
		}
	}
}
