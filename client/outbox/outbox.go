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

// PublishTx adds events to the outbox in tx (pgx), in one round trip.
// An event's ID, when set, is an idempotency key among the outbox's
// events: publishing it again is stored once. A nil or empty Data is {},
// as through the API. An unknown event name fails
// here, before the commit, and publishes none of events.
func (p Publisher) PublishTx(ctx context.Context, tx pgx.Tx, events ...*api.Event) error {
	query, args, err := p.call(events)
	if err != nil || query == "" {
		return err
	}
	_, err = tx.Exec(ctx, query, args...)
	return err
}

// PublishSQLTx is PublishTx for database/sql, with a PostgreSQL driver
// (pgx's stdlib, lib/pq).
func (p Publisher) PublishSQLTx(ctx context.Context, tx *sql.Tx, events ...*api.Event) error {
	query, args, err := p.call(events)
	if err != nil || query == "" {
		return err
	}
	_, err = tx.ExecContext(ctx, query, args...)
	return err
}

// call returns the statement that publishes events, and its arguments: one
// call of hookd_publish a row of the arrays' unnest. No events is no
// statement.
func (p Publisher) call(events []*api.Event) (string, []any, error) {
	if len(events) == 0 {
		return "", nil, nil
	}
	n := len(events)
	names, projects, ids, datas := make([]string, n), make([]*string, n), make([]*string, n), make([]*string, n)
	users := make([]*int64, n)
	for i, e := range events {
		if !hookd.IsEventName(e.Event) {
			return "", nil, fmt.Errorf("hookd outbox: %q is not one of hookd's event names", e.Event)
		}
		names[i], projects[i], users[i] = e.Event, e.ProjectID, e.UserID
		if e.ID != "" {
			ids[i] = &e.ID
		}
		if len(e.Data) > 0 { // empty is absent, {}, as through the API
			d := string(e.Data)
			datas[i] = &d
		}
	}
	fn := "hookd_publish"
	if p.Schema != "" {
		fn = pgx.Identifier{p.Schema, fn}.Sanitize()
	}
	return "SELECT " + fn + "(e.event, e.project_id, e.user_id, e.data, e.id) FROM unnest($1::text[], $2::text[], $3::bigint[], $4::json[], $5::text[]) AS e(event, project_id, user_id, data, id)",
		[]any{names, projects, users, datas, ids}, nil
}
