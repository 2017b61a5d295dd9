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
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/api"
	"github.com/hookd/hookd/client"
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
// as through the API; any other is stored as it is, byte for byte.
//
// Before writing, each event is checked with the intake's rules that its
// relay would otherwise apply after the commit, setting the row aside where
// the platform does not see it: a known event name, an ID that a URL's path
// can carry (hookd.PathSafeEventID), data that client.CheckData passes and
// of at most hookd.MaxOutboxData bytes. An event that fails returns an
// error naming it (events[i]) and publishes none of events, without
// touching tx, which the platform may still commit or roll back.
func (p Publisher) PublishTx(ctx context.Context, tx pgx.Tx, events ...*api.Event) error {
	query, args, err := p.call(events)
	if err != nil || query == "" {
		return err
	}
	_, err = tx.Exec(ctx, query, args...)
	return err
}

// PublishSQLTx is PublishTx for database/sql, with any PostgreSQL driver:
// its arguments are strings (the arrays as PostgreSQL's array literals),
// which every driver takes, where a Go slice needs pgx's stdlib or lib/pq
// 1.11 or later.
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
	names, projects, users, datas, ids := make([]*string, n), make([]*string, n), make([]*string, n), make([]*string, n), make([]*string, n)
	for i, e := range events {
		if err := check(e); err != nil {
			return "", nil, fmt.Errorf("hookd outbox: events[%d]: %w", i, err)
		}
		names[i], projects[i] = &e.Event, e.ProjectID
		if e.UserID != nil {
			user := strconv.FormatInt(*e.UserID, 10)
			users[i] = &user
		}
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
	return "SELECT " + fn + "(e.event, e.project_id, e.user_id, e.data, e.id) FROM unnest($1::text::text[], $2::text::text[], $3::text::bigint[], $4::text::json[], $5::text::text[]) AS e(event, project_id, user_id, data, id)",
		[]any{arrayLiteral(names), arrayLiteral(projects), arrayLiteral(users), arrayLiteral(datas), arrayLiteral(ids)}, nil
}

// check applies the intake's rules (those of the root package, and the
// client's for data) that the relay would apply to e's row after the
// commit, too late for the platform to hear of them.
func check(e *api.Event) error {
	switch {
	case !hookd.IsEventName(e.Event):
		return fmt.Errorf("%q is not one of hookd's event names", e.Event)
	case e.ID != "" && !hookd.PathSafeEventID(e.ID):
		return fmt.Errorf("id %q: %s", e.ID, hookd.RulePathSafeEventID)
	case len(e.Data) > hookd.MaxOutboxData:
		return fmt.Errorf("data is %d bytes, over the %d an event's data may have", len(e.Data), hookd.MaxOutboxData)
	}
	return client.CheckData(e.Data)
}

// arrayLiteral writes values as a PostgreSQL array literal, nil as NULL,
// each other value quoted, so that the server reads back exactly its bytes.
func arrayLiteral(values []*string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, v := range values {
		if i > 0 {
			b.WriteByte(',')
		}
		if v == nil {
			b.WriteString("NULL")
			continue
		}
		b.WriteByte('"')
		arrayQuoted.WriteString(&b, *v)
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

// arrayQuoted escapes what a quoted element of an array literal cannot
// hold as it is.
var arrayQuoted = strings.NewReplacer(`\`, `\\`, `"`, `\"`)
