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
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

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
// the platform does not see it: a known event name, an ID of at most
// hookd.MaxEventIDLength characters without control characters
// (hookd.ValidText) that a URL's path can carry (hookd.PathSafeEventID), a
// ProjectID of hookd.ProjectIDForm, data that client.CheckData passes and
// of at most hookd.MaxOutboxData bytes; and an ID that PostgreSQL's text
// can hold (valid UTF-8 without NUL), whose write would fail and abort tx.
// An event that fails returns an
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
// its one argument is a string (a JSON document of the events), which
// every driver takes, where a Go slice needs pgx's stdlib or lib/pq 1.11
// or later.
func (p Publisher) PublishSQLTx(ctx context.Context, tx *sql.Tx, events ...*api.Event) error {
	query, args, err := p.call(events)
	if err != nil || query == "" {
		return err
	}
	_, err = tx.ExecContext(ctx, query, args...)
	return err
}

// outboxRow is an event as call passes it, a row of json_to_recordset; an
// absent key is NULL. Data is a JSON string of the data's text, cast to
// json after: as a json field it would be parsed with the document, whose
// strings PostgreSQL decodes, and a "\u0000" in it would fail the write.
type outboxRow struct {
	Event     string  `json:"event"`
	ProjectID *string `json:"project_id,omitempty"`
	UserID    *int64  `json:"user_id,omitempty"`
	Data      string  `json:"data,omitempty"` // empty is absent, {}, as through the API
	ID        string  `json:"id,omitempty"`
}

// call returns the statement that publishes events, and its argument: one
// call of hookd_publish a row of a JSON document of the events, a text
// parameter. Unlike arrays (a Go slice, which not every driver takes, or an
// array literal, whose NULL depends on the session's array_nulls), it reads
// the same with every driver and session. No events is no statement.
func (p Publisher) call(events []*api.Event) (string, []any, error) {
	if len(events) == 0 {
		return "", nil, nil
	}
	rows := make([]outboxRow, len(events))
	for i, e := range events {
		if err := check(e); err != nil {
			return "", nil, fmt.Errorf("hookd outbox: events[%d]: %w", i, err)
		}
		rows[i] = outboxRow{Event: e.Event, ProjectID: e.ProjectID, UserID: e.UserID, Data: string(e.Data), ID: e.ID}
	}
	// check passed every string as valid UTF-8, which encoding/json writes
	// as it is or escaped, never replaced: PostgreSQL reads back its bytes.
	doc, err := json.Marshal(rows)
	if err != nil {
		return "", nil, err
	}
	fn := "hookd_publish"
	if p.Schema != "" {
		fn = pgx.Identifier{p.Schema, fn}.Sanitize()
	}
	return "SELECT " + fn + "(e.event, e.project_id, e.user_id, e.data::json, e.id) FROM json_to_recordset($1::text::json) AS e(event text, project_id text, user_id bigint, data text, id text)",
		[]any{string(doc)}, nil
}

// check applies the intake's rules (those of the root package, and the
// client's for data) that the relay would apply to e's row after the
// commit, too late for the platform to hear of them, and refuses the text
// that PostgreSQL's text cannot hold, which would fail the write and abort
// the platform's transaction.
func check(e *api.Event) error {
	switch {
	case !hookd.IsEventName(e.Event):
		return fmt.Errorf("%q is not one of hookd's event names", e.Event)
	case !storableText(e.ID):
		return fmt.Errorf("id %q: %s", e.ID, ruleStorableText)
	case e.ID != "" && !hookd.ValidText(e.ID, hookd.MaxEventIDLength):
		return fmt.Errorf("id %q: must be 1 to %d characters, without control characters", e.ID, hookd.MaxEventIDLength)
	case e.ID != "" && !hookd.PathSafeEventID(e.ID):
		return fmt.Errorf("id %q: %s", e.ID, hookd.RulePathSafeEventID)
	case e.ProjectID != nil && !hookd.ValidProjectID(*e.ProjectID):
		return fmt.Errorf("project_id %q: must be %s", *e.ProjectID, hookd.ProjectIDForm)
	case len(e.Data) > hookd.MaxOutboxData:
		return fmt.Errorf("data is %d bytes, over the %d an event's data may have", len(e.Data), hookd.MaxOutboxData)
	}
	return client.CheckData(e.Data)
}

// storableText reports whether PostgreSQL's text can hold s: valid UTF-8
// without a NUL byte; any other fails the write (SQLSTATE 22021).
func storableText(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// ruleStorableText is the rule storableText checks, in words.
const ruleStorableText = "must be valid UTF-8 without NUL bytes, as PostgreSQL's text holds"
