package postgres

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd"
)

// OutboxChannel is the LISTEN/NOTIFY channel on which hookd_publish
// (migration 0014) tells that a row may have been committed to the outbox.
const OutboxChannel = "hookd_outbox"

var _ hookd.Outbox = (*Store)(nil)

// OutboxWakeup delivers a value when a platform may have committed rows to
// the outbox, here or after the listening connection reconnected.
func (s *Store) OutboxWakeup() <-chan struct{} { return s.outboxWake }

// OutboxSchema names the schema of the store's tables (its search_path's
// first), where migration 0014 created the outbox.
func (s *Store) OutboxSchema(ctx context.Context) (string, error) {
	var schema string
	err := s.pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema)
	return schema, wrapErr(err)
}

// relayBytes bounds what one transaction of the relay reads of its rows,
// every column counted (beside its first row, so that any row goes): a
// thousand rows of a megabyte each are taken over several transactions,
// not held at once.
const relayBytes = 16 << 20

// relayTextBytes is the most that the relay reads of one text column:
// hookd.OutboxTextChars characters of up to 4 bytes.
const relayTextBytes = 4 * hookd.OutboxTextChars

// relayTurnBound is how long the server lets a relay's transaction run, or
// wait for its process between statements, when the caller's context has
// no deadline (with one, until that deadline).
const relayTurnBound = time.Minute

// relayLockSQL makes the relays of a schema take turns. Relays that took
// different rows at once (SKIP LOCKED alone) would publish them in the
// order their transactions commit: a later row's event could come before
// an earlier row's into a webhook's ordered lane.
//
// The turn must end even when its relay never comes back: a process frozen
// or cut off midway would otherwise hold it, and every relay behind it,
// until PostgreSQL noticed its session gone (hours, with default
// keepalives). The transaction sets its own bounds ($1, in milliseconds)
// before it waits: idle_in_transaction_session_timeout ends the session of
// a process that stops sending statements, statement_timeout a statement
// that runs on (an error releases the lock at once), and tcp_user_timeout
// the connection of one that stops reading the rows it is sent, which
// neither timeout can reach while the server waits to write. A try-lock
// would not do: the others would still wait for the holder.
const relayLockSQL = `SELECT set_config('idle_in_transaction_session_timeout', $1, true),
	set_config('statement_timeout', $1, true), set_config('tcp_user_timeout', $1, true),
	pg_advisory_xact_lock(hashtextextended('hookd.outbox.' || coalesce(current_schema(), ''), 0))`

// relayBound is the bound relayLockSQL sets for a transaction under ctx:
// the time to ctx's deadline, or relayTurnBound, in milliseconds (0 would
// mean none).
func relayBound(ctx context.Context) string {
	bound := relayTurnBound
	if deadline, ok := ctx.Deadline(); ok {
		bound = time.Until(deadline)
	}
	return strconv.FormatInt(max(bound.Milliseconds(), 1), 10)
}

// RelayOutbox takes up to limit committed outbox rows, oldest first, after
// the relay before it (relayLockSQL), publishes their events with
// publishIn and deletes them, in one transaction: a row is published
// exactly once, in the order of the committed rows, whichever process
// takes it and whenever one dies. Rows refused by check or by
// Event.Normalize, or whose id another publisher took, move to
// outbox_rejected, whole, in the same transaction: no row fails the
// others.
func (s *Store) RelayOutbox(ctx context.Context, limit int, check func(hookd.OutboxRow) (*hookd.Event, error)) (hookd.OutboxRelayed, error) {
	var res hookd.OutboxRelayed
	var q queued
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		res, q = hookd.OutboxRelayed{}, queued{}
		if _, err := tx.Exec(ctx, relayLockSQL, relayBound(ctx)); err != nil {
			return err
		}
		taken, more, err := takeOutbox(ctx, tx, limit)
		if err != nil || len(taken) == 0 {
			return err
		}
		res.Rows, res.More = len(taken), more

		var events []*hookd.Event
		var from []hookd.OutboxRow // the row of each event
		var ids []string           // the ids rows give
		now := s.clock.Now()
		for _, row := range taken {
			e, err := check(row)
			if err == nil {
				err = e.Normalize(now)
			}
			if err != nil {
				res.Rejected = append(res.Rejected, hookd.OutboxRejection{Row: row, Reason: err.Error()})
				continue
			}
			e.PublisherKeyID = hookd.OutboxPublisherKeyID
			events, from = append(events, e), append(from, row)
			if row.ID != nil {
				ids = append(ids, *row.ID)
			}
		}
		// An id that another publisher took would refuse the whole batch
		// (hookd.Republish): set its rows aside first. (One taken in
		// between fails this transaction, and the next one sets it aside.)
		if len(ids) > 0 {
			rows, _ := tx.Query(ctx, `SELECT id FROM events WHERE id = ANY($1) AND publisher_key_id <> $2`, ids, hookd.OutboxPublisherKeyID)
			others, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				return err
			}
			var kept []*hookd.Event
			for i, e := range events {
				if slices.Contains(others, e.ID) {
					res.Rejected = append(res.Rejected, hookd.OutboxRejection{Row: from[i], Reason: (&hookd.EventIDTakenError{ID: e.ID}).Error()})
					continue
				}
				kept = append(kept, e)
			}
			events = kept
		}
		if len(events) > 0 {
			if res.Published, q, err = s.publishIn(ctx, tx, events, hookd.Prematched{}); err != nil {
				return err
			}
		}

		seqs := make([]int64, len(taken))
		for i, row := range taken {
			seqs[i] = row.Seq
		}
		rejected, reasons := make([]int64, len(res.Rejected)), make([]string, len(res.Rejected))
		for i, r := range res.Rejected {
			rejected[i], reasons[i] = r.Row.Seq, storableText(r.Reason)
		}
		_, err = tx.Exec(ctx, `
			WITH taken AS (DELETE FROM outbox WHERE seq = ANY($1) RETURNING *)
			INSERT INTO outbox_rejected (seq, id, event, project_id, user_id, data, reason, rejected_at)
			SELECT t.seq, t.id, t.event, t.project_id, t.user_id, t.data, r.reason, $4
			FROM taken t JOIN unnest($2::bigint[], $3::text[]) AS r(seq, reason) ON r.seq = t.seq`,
			seqs, rejected, reasons, now)
		return err
	})
	if err != nil {
		return hookd.OutboxRelayed{}, wrapErr(err)
	}
	s.queued(q)
	return res, nil
}

// storableText is s as PostgreSQL's text takes it, valid UTF-8 without NUL
// bytes: a rejection's reason that quotes a value oddly must not fail the
// insert into outbox_rejected, and with it the relay of every row.
func storableText(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}

// takeOutbox locks up to limit rows of the outbox that no other
// transaction holds, oldest first, and reads them up to the first that
// would bring what is read over relayBytes (at least one row): at most
// hookd.OutboxTextChars characters of each text column, and the data only
// of a row within hookd.MaxOutboxData. Sizes come from what PostgreSQL
// knows without reading a value (data_bytes, measured when the row went
// in, and octet_length of text, which reads only a value's header); a row
// written before migration 0026 (data_bytes NULL) has its data measured
// here, by the first query only. more tells whether it locked limit rows,
// or left some for want of room: more rows may wait.
func takeOutbox(ctx context.Context, tx pgx.Tx, limit int) (taken []hookd.OutboxRow, more bool, err error) {
	rows, _ := tx.Query(ctx, `SELECT seq, coalesce(data_bytes, octet_length(data::text), 0),
		least(coalesce(octet_length(id), 0), $2) + least(octet_length(event), $2) + least(coalesce(octet_length(project_id), 0), $2)
		FROM outbox ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED`, limit, relayTextBytes)
	var seqs, readable []int64 // readable: the rows whose data is read
	var dataBytes []int        // of each row of seqs
	total, full := 0, false
	var seq int64
	var data, text int
	locked, err := pgx.ForEachRow(rows, []any{&seq, &data, &text}, func() error {
		// The rows after the first that does not fit wait too, even smaller
		// ones: a transaction takes rows in their order, without gaps.
		size := min(data, hookd.MaxOutboxData+1) + text
		full = full || len(seqs) > 0 && total+size > relayBytes
		if full {
			return nil
		}
		seqs, dataBytes, total = append(seqs, seq), append(dataBytes, data), total+size
		if data <= hookd.MaxOutboxData {
			readable = append(readable, seq)
		}
		return nil
	})
	if err != nil || len(seqs) == 0 {
		return nil, false, err
	}
	// substr, not left: it fetches only the start of a value stored out of
	// line, where left would read it whole.
	rows, _ = tx.Query(ctx, `
		SELECT seq, substr(id, 1, $3), substr(event, 1, $3), substr(project_id, 1, $3), user_id,
		       CASE WHEN seq = ANY($2) THEN data::text END
		FROM outbox WHERE seq = ANY($1) ORDER BY seq`, seqs, readable, hookd.OutboxTextChars)
	taken, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (hookd.OutboxRow, error) {
		var o hookd.OutboxRow
		var data *string
		err := r.Scan(&o.Seq, &o.ID, &o.Event, &o.ProjectID, &o.UserID, &data)
		if data != nil {
			o.Data = []byte(*data)
		}
		return o, err
	})
	for i := range taken { // the rows of seqs, locked here, in their order
		taken[i].DataBytes = dataBytes[i]
	}
	return taken, full || int(locked.RowsAffected()) == limit, err
}
