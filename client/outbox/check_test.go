package outbox_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/api"
	"github.com/hookd/hookd/client/outbox"
	hookdhttp "github.com/hookd/hookd/internal/http"
	"github.com/hookd/hookd/internal/postgres/pgtest"
)

// An event that the relay would set aside after the commit is refused
// before the write, with an error naming it, and leaves the platform's
// transaction usable: what it publishes next commits. Each refused event,
// written with hookd_publish by hand, is one the relay rejects.
func TestPublishTxRefusesWhatTheRelayRejects(t *testing.T) {
	schema := pgtest.Schema(t)
	store := pgtest.OpenSchema(t, schema)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.URLFor(t, schema))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)

	huge := `{"caption":"` + strings.Repeat("x", hookd.MaxOutboxData) + `"}`
	refused := []struct{ id, data, err string }{
		{"", `[1, 2]`, "data must be a JSON object"},
		{"", `null`, "data must be a JSON object"},
		{"", `{"a":`, "data is not valid JSON"},
		{"", huge, fmt.Sprintf("data is %d bytes, over the %d an event's data may have", len(huge), hookd.MaxOutboxData)},
		{"..", `{}`, `id "..": ` + hookd.RulePathSafeEventID},
	}
	good := &api.Event{ID: "evt_good", Event: "ASSET_ADDED", Data: []byte(`{"ok": true}`)}
	if err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		for _, r := range refused {
			bad := &api.Event{ID: r.id, Event: "ASSET_ADDED", Data: []byte(r.data)}
			err := outbox.Publisher{}.PublishTx(ctx, tx, good, bad)
			if want := "hookd outbox: events[1]: " + r.err; err == nil || err.Error() != want {
				t.Errorf("data %.40s, id %q: %v, want %q", r.data, r.id, err, want)
			}
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

	// By hand, each row either fails its write (invalid JSON; data over the
	// limit once hookd_publish checks it), failing the platform's
	// transaction with it, or commits for the relay to set aside.
	committed := 0
	for _, r := range refused {
		var id *string
		if r.id != "" {
			id = &r.id
		}
		if pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `SELECT hookd_publish('ASSET_ADDED', data => $1::json, id => $2)`, r.data, id)
			return err
		}) == nil {
			committed++
		}
	}
	if committed < 3 {
		t.Fatalf("%d rows written by hand committed, want at least the two non-objects and the id %q", committed, "..")
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
// types, and what it writes (quotes, backslashes, braces, commas, a project
// named NULL, absent values) reaches the relay byte for byte.
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

	project, user := "NULL", int64(-7)
	events := []*api.Event{
		{ID: `evt_"quoted"\back`, Event: "ASSET_ADDED", ProjectID: &project, UserID: &user,
			Data: []byte(`{"say": "\"hi\", {NULL} \\ \u00e9", "price": 1.50,  "big": 12345678901234567890}`)},
		{Event: "ASSET_REMOVED"},
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := (outbox.Publisher{Schema: schema}).PublishSQLTx(ctx, tx, events...); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}

	res, err := store.RelayOutbox(ctx, 10, hookdhttp.OutboxEvent)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Published) != 2 || len(res.Rejected) != 0 {
		t.Fatalf("relayed %+v, want two events", res)
	}
	first, second := res.Published[0].Event, res.Published[1].Event
	if first.ID != events[0].ID || first.ProjectID == nil || *first.ProjectID != "NULL" || first.UserID == nil || *first.UserID != user ||
		string(first.Data) != string(events[0].Data) {
		t.Errorf("first event %+v, data %s", first, first.Data)
	}
	if second.Event != "ASSET_REMOVED" || second.ProjectID != nil || second.UserID != nil || string(second.Data) != `{}` {
		t.Errorf("second event %+v", second)
	}
}
