package outbox_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/hookd/hookd/api"
	"github.com/hookd/hookd/client/outbox"
	hookdhttp "github.com/hookd/hookd/internal/http"
	"github.com/hookd/hookd/internal/postgres/pgtest"
)

// TestPublishTx publishes through database/sql and pgx, each in a
// transaction that commits, in hookd's schema named by the Publisher and
// through the transaction's search_path, and checks what the relay takes.
func TestPublishTx(t *testing.T) {
	schema := pgtest.Schema(t)
	store := pgtest.OpenSchema(t, schema)
	ctx := context.Background()
	project, user := "GsrwPNm6nJ7CKRYnQZl6", int64(45)

	cfg, err := pgx.ParseConfig(pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(stdlib.GetConnector(*cfg))
	defer db.Close()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := (outbox.Publisher{Schema: schema}).PublishSQLTx(ctx, tx, &api.Event{ID: "evt_sql", Event: "ASSET_ADDED",
		ProjectID: &project, UserID: &user, Data: []byte(`{"a": 1.50}`)}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}

	conn, err := pgx.Connect(ctx, pgtest.URLFor(t, schema)) // search_path: hookd's schema
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		return outbox.Publisher{}.PublishTx(ctx, tx, &api.Event{Event: "ASSET_REMOVED"})
	}); err != nil {
		t.Fatal(err)
	}
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		return outbox.Publisher{}.PublishTx(ctx, tx, &api.Event{Event: "ASSET_ADDEDD"})
	})
	if err == nil || !strings.Contains(err.Error(), `"ASSET_ADDEDD" is not one of hookd's event names`) {
		t.Fatalf("unknown event: %v", err)
	}

	res, err := store.RelayOutbox(ctx, 10, hookdhttp.OutboxEvent)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Published) != 2 || len(res.Rejected) != 0 {
		t.Fatalf("relayed %+v, want two events", res)
	}
	sqlEvent, pgxEvent := res.Published[0].Event, res.Published[1].Event
	if sqlEvent.ID != "evt_sql" || *sqlEvent.ProjectID != project || *sqlEvent.UserID != user || string(sqlEvent.Data) != `{"a": 1.50}` {
		t.Errorf("database/sql event %+v", sqlEvent)
	}
	if pgxEvent.Event != "ASSET_REMOVED" || !strings.HasPrefix(pgxEvent.ID, "evt_") || string(pgxEvent.Data) != `{}` {
		t.Errorf("pgx event %+v", pgxEvent)
	}
}

// An empty Data is absent, {}, as through the API: not invalid JSON that
// aborts the platform's transaction.
func TestPublishTxEmptyData(t *testing.T) {
	schema := pgtest.Schema(t)
	store := pgtest.OpenSchema(t, schema)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		return outbox.Publisher{Schema: schema}.PublishTx(ctx, tx, &api.Event{ID: "evt_empty", Event: "ASSET_ADDED", Data: []byte{}},
			&api.Event{ID: "evt_nil", Event: "ASSET_ADDED"})
	}); err != nil {
		t.Fatal(err)
	}
	res, err := store.RelayOutbox(ctx, 10, hookdhttp.OutboxEvent)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Published) != 2 || len(res.Rejected) != 0 {
		t.Fatalf("relayed %+v, want two events", res)
	}
	for _, p := range res.Published {
		if string(p.Event.Data) != `{}` {
			t.Errorf("event %s: data %q, want {}", p.Event.ID, p.Event.Data)
		}
	}
}
