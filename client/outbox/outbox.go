// Package outbox publishes events to hookd inside the platform's own
// PostgreSQL transaction (README: Publishing inside your transaction): the
// event is a row of hookd's outbox, committed or rolled back with the
// platform's change, and hookd delivers it once committed, exactly once.
//
//	tx, _ := pool.Begin(ctx)
//	tx.Exec(ctx, `UPDATE assets SET ...`)
//	outbox.Publisher{Schema: "hookd"}.PublishTx(ctx, tx, &api.Event{Event: "ASSET_ADDED", Data: data})
//	tx.Commit(ctx)
//
// It is a package of its own so that the HTTP client does not bring
// PostgreSQL's driver to programs that do not use it.
package outbox

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/api"
)

// Publisher calls hookd_publish, version 1 of the outbox's contract, in
// Schema: the schema of hookd's tables (its connection's search_path;
// public by default). An empty Schema calls it through the transaction's
// own search_path.
type Publisher struct {
	Schema string
}

// PublishTx adds e to the outbox in tx (pgx). e.ID, when set, is an
// idempotency key among the outbox's events: publishing it again is
// stored once. An unknown event name fails here, before the commit.
func (p Publisher) PublishTx(ctx context.Context, tx pgx.Tx, e *api.Event) error {
	query, args, err := p.call(e)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, query, args...)
	return err
}

// PublishSQLTx is PublishTx for database/sql, with a PostgreSQL driver
// (pgx's stdlib, lib/pq).
func (p Publisher) PublishSQLTx(ctx context.Context, tx *sql.Tx, e *api.Event) error {
	query, args, err := p.call(e)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, query, args...)
	return err
}

// call returns the statement that publishes e, and its arguments.
func (p Publisher) call(e *api.Event) (string, []any, error) {
	if !hookd.IsEventName(e.Event) {
		return "", nil, fmt.Errorf("hookd outbox: %q is not one of hookd's event names", e.Event)
	}
	fn := "hookd_publish"
	if p.Schema != "" {
		fn = pgx.Identifier{p.Schema, fn}.Sanitize()
	}
	var id, data *string
	if e.ID != "" {
		id = &e.ID
	}
	if e.Data != nil {
		d := string(e.Data)
		data = &d
	}
	return "SELECT " + fn + "($1, $2, $3, $4::json, $5)", []any{e.Event, e.ProjectID, e.UserID, data, id}, nil
}
