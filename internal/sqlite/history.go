package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hookd/hookd"
)

// Prune deletes what the retention window no longer keeps: attempts older
// than before, deliveries that finished (succeeded or failed for good)
// before it, and events older than before that no delivery still needs. A
// pruned event's id may be published again. Pending deliveries and their
// events are never pruned, however old. Each transaction deletes up to
// hookd.PruneChunk rows, so the writer is never held for long (the cascade
// of a finished delivery's attempts, pruned first, is empty). It returns
// how many rows went.
func (s *Store) Prune(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	// The order matters: attempts, then the deliveries they belong to,
	// then the events those referenced.
	for _, q := range []string{
		`DELETE FROM attempts WHERE id IN (SELECT id FROM attempts WHERE created_at < ?1 LIMIT ?2)`,
		`DELETE FROM deliveries WHERE id IN (
			SELECT id FROM deliveries WHERE state <> 'pending' AND last_attempt_at < ?1 LIMIT ?2)`,
	} {
		for {
			n, err := s.chunk(ctx, func(tx *sql.Tx) (int64, error) {
				res, err := tx.ExecContext(ctx, q, ms(before), hookd.PruneChunk)
				if err != nil {
					return 0, err
				}
				return res.RowsAffected()
			})
			total += n
			if err != nil {
				return total, err
			}
			if n < hookd.PruneChunk {
				break
			}
		}
	}
	n, err := s.walk(ctx, "events", 0, ms(before), `DELETE FROM events WHERE id IN (SELECT value FROM json_each(?))
		AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = events.id)
		AND NOT EXISTS (SELECT 1 FROM fan_outs f WHERE f.event_id = events.id)`)
	return total + n, err
}

// chunk runs one transaction of the history's upkeep, which returns how
// many rows it changed.
func (s *Store) chunk(ctx context.Context, fn func(tx *sql.Tx) (int64, error)) (int64, error) {
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) (err error) {
		n, err = fn(tx)
		return err
	})
	if err != nil {
		return 0, err
	}
	if s.chunkDone != nil {
		s.chunkDone(n)
	}
	return n, nil
}

// walkQueries select a chunk of a table's rows created in [?1, ?2), after
// the row (?3, ?4) in (created_at, id) order.
var walkQueries = map[string]string{
	"events": `SELECT id, created_at FROM events WHERE created_at >= ?1 AND created_at < ?2
		AND (created_at, id) > (?3, ?4) ORDER BY created_at, id LIMIT ?5`,
	"attempts": `SELECT id, created_at FROM attempts WHERE created_at >= ?1 AND created_at < ?2
		AND (created_at, id) > (?3, ?4) ORDER BY created_at, id LIMIT ?5`,
}

// walk runs act over table's rows created in [from, before), a chunk of
// hookd.PruneChunk rows a transaction, in (created_at, id) order; act
// takes the chunk's ids as a JSON array. It walks on from the last row
// read, so the rows act leaves are not read again, and returns how many
// rows act changed. The statements then, in the same transaction, take
// the same ids: to note what act left.
func (s *Store) walk(ctx context.Context, table string, from, before int64, act string, then ...string) (int64, error) {
	var (
		total   int64
		afterAt     = from - 1
		afterID any = ""
	)
	if table == "attempts" {
		afterID = int64(0)
	}
	for {
		read := 0
		n, err := s.chunk(ctx, func(tx *sql.Tx) (int64, error) {
			rows, err := tx.QueryContext(ctx, walkQueries[table], from, before, afterAt, afterID, hookd.PruneChunk)
			if err != nil {
				return 0, err
			}
			var ids []any
			for rows.Next() {
				var (
					text string
					num  int64
					id   any = &text
				)
				if table == "attempts" {
					id = &num
				}
				if err := rows.Scan(id, &afterAt); err != nil {
					rows.Close()
					return 0, err
				}
				if table == "attempts" {
					afterID = num
				} else {
					afterID = text
				}
				ids = append(ids, afterID)
			}
			if err := rows.Close(); err != nil {
				return 0, err
			}
			if read = len(ids); read == 0 {
				return 0, nil
			}
			list, err := json.Marshal(ids)
			if err != nil {
				return 0, err
			}
			res, err := tx.ExecContext(ctx, act, string(list))
			if err != nil {
				return 0, err
			}
			for _, stmt := range then {
				if _, err := tx.ExecContext(ctx, stmt, string(list)); err != nil {
					return 0, err
				}
			}
			return res.RowsAffected()
		})
		total += n
		if err != nil || read < hookd.PruneChunk {
			return total, err
		}
	}
}

// payloadNeeded is the condition that the data of the event whose id is
// column id is still needed: a delivery of it is pending, or its fan-out
// waits.
func payloadNeeded(id string) string {
	return `(EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = ` + id + ` AND d.state = 'pending')
		OR EXISTS (SELECT 1 FROM fan_outs f WHERE f.event_id = ` + id + `))`
}

// ClearPayloads clears event data and logged response bodies from where
// the previous call ended (payloads_cleared) to before, and the data of
// the events it kept before (payloads_waiting) that are no longer needed.
func (s *Store) ClearPayloads(ctx context.Context, before time.Time) (int64, error) {
	total, err := s.clearWaiting(ctx)
	if err != nil {
		return total, err
	}
	for _, c := range []struct {
		table, act string
		then       []string
	}{
		{"events", `UPDATE events SET data = '{}' WHERE id IN (SELECT value FROM json_each(?)) AND data <> '{}'
			AND NOT ` + payloadNeeded("events.id"),
			[]string{`INSERT INTO payloads_waiting (event_id)
				SELECT id FROM events WHERE id IN (SELECT value FROM json_each(?)) AND data <> '{}'
				ON CONFLICT DO NOTHING`}},
		{"attempts", `UPDATE attempts SET response_body = '' WHERE id IN (SELECT value FROM json_each(?))
			AND response_body <> ''`, nil},
	} {
		var from int64
		err := s.w.QueryRowContext(ctx, `SELECT cleared_before FROM payloads_cleared WHERE table_name = ?`, c.table).Scan(&from)
		if err != nil && err != sql.ErrNoRows {
			return total, mapErr(err)
		}
		if from >= ms(before) {
			continue
		}
		n, err := s.walk(ctx, c.table, from, ms(before), c.act, c.then...)
		total += n
		if err != nil {
			return total, err
		}
		if _, err := s.exec(ctx, `INSERT INTO payloads_cleared (table_name, cleared_before) VALUES (?, ?)
			ON CONFLICT (table_name) DO UPDATE SET cleared_before = excluded.cleared_before`, c.table, ms(before)); err != nil {
			return total, mapErr(err)
		}
	}
	return total, nil
}

// waitingSQL reads the next events of payloads_waiting after ?1, at most
// ?2, in id order, each with whether its data is no longer needed.
var waitingSQL = `SELECT event_id, NOT ` + payloadNeeded("payloads_waiting.event_id") + `
	FROM payloads_waiting WHERE event_id > ?1 ORDER BY event_id LIMIT ?2`

// clearWaiting clears the data of the events of payloads_waiting that are
// no longer needed, and forgets them. It reads them hookd.PruneChunk at a
// time (waitingSQL), however many are still needed: each read is short,
// takes no writer, and lets a WAL checkpoint go on between it and the
// next. Of each chunk read, it clears those due in a transaction: the
// events still needed are only read, and the writer is held only for those
// it clears (checked again there, as a requeue may need one again
// meanwhile).
func (s *Store) clearWaiting(ctx context.Context) (int64, error) {
	var total int64
	for after := ""; ; {
		rows, err := s.r.QueryContext(ctx, waitingSQL, after, hookd.PruneChunk)
		if err != nil {
			return total, mapErr(err)
		}
		var due []string
		read := 0
		for rows.Next() {
			var isDue bool
			if err := rows.Scan(&after, &isDue); err != nil {
				rows.Close()
				return total, mapErr(err)
			}
			if read++; isDue {
				due = append(due, after)
			}
		}
		if err := rows.Close(); err != nil {
			return total, mapErr(err)
		}
		if len(due) > 0 {
			n, err := s.clearDue(ctx, due)
			total += n
			if err != nil {
				return total, err
			}
		}
		if read < hookd.PruneChunk {
			return total, nil
		}
	}
}

// clearDue clears the data of the events due, unless one is needed again,
// forgets them, and returns how many it cleared.
func (s *Store) clearDue(ctx context.Context, due []string) (int64, error) {
	list, err := json.Marshal(due)
	if err != nil {
		return 0, err
	}
	return s.chunk(ctx, func(tx *sql.Tx) (int64, error) {
		if _, err := tx.ExecContext(ctx, `DELETE FROM payloads_waiting WHERE event_id IN (SELECT value FROM json_each(?))
			AND NOT `+payloadNeeded("payloads_waiting.event_id"), string(list)); err != nil {
			return 0, err
		}
		res, err := tx.ExecContext(ctx, `UPDATE events SET data = '{}' WHERE id IN (SELECT value FROM json_each(?))
			AND data <> '{}' AND NOT `+payloadNeeded("events.id"), string(list))
		if err != nil {
			return 0, err
		}
		return res.RowsAffected()
	})
}

// eraseChunk bounds one transaction of an erasure of a project's or a
// user's events (hookd.EraseChunk). Tests make it small.
var eraseChunk = hookd.EraseChunk

// eraseWalkQueries select the next chunk of a project's or a user's events
// (?1) after rowid ?2, at most ?3, in rowid order: the order of their index
// (events_project, events_user: (key, rowid)), so that each chunk is one
// descent of it, whatever the table's size, and no sort. (created_at, id),
// walk's order, has no index with the project or the user.
var eraseWalkQueries = map[bool]string{
	true: `SELECT rowid, id, deliveries FROM events INDEXED BY events_project
		WHERE project_id = ?1 AND rowid > ?2 ORDER BY rowid LIMIT ?3`,
	false: `SELECT rowid, id, deliveries FROM events INDEXED BY events_user
		WHERE user_id = ?1 AND rowid > ?2 ORDER BY rowid LIMIT ?3`,
}

// Erase erases the events e names (hookd.Erasure). One event is erased in
// one transaction.
//
// A project's or a user's events are erased in chunks (eraseChunk), each in
// a transaction of its own, like the rest of the history's upkeep, so that
// an erasure of any size never holds the writer for long: publishes, claims
// and completions go on between chunks. Each chunk does for its events all
// that erasing an event does (eraseEvents), lanes included, so the store
// is consistent after each: an Erase cut short (an error, a cancelled
// context, a crash) leaves its first chunks erased, the rest untouched,
// and erasing again is safe (an erased event is rewritten the same way;
// it has no pending delivery left to cancel nor body to clear). The walk
// goes up the events' rowids: every event the project or user had when
// Erase began is erased; one published meanwhile gets a rowid above them
// (a new row's is above the largest, SQLite's default) and is erased too
// if it was committed before the walk's last chunk. (A rowid that is not
// an INTEGER PRIMARY KEY may change at a VACUUM, which hookd never runs: an
// operator's VACUUM during an Erase could make it miss events; erase
// again.) Meanwhile, the deliveries of the events of later chunks may
// still be claimed, as they could before the Erase; a lane whose head a
// chunk cancels is unblocked at once, as always, and its next delivery may
// be one that a later chunk cancels: the claims are woken only when Erase
// ends. The totals are the chunks' sum; with an error, what the chunks
// that committed did.
func (s *Store) Erase(ctx context.Context, e hookd.Erasure) (hookd.Erased, error) {
	var out hookd.Erased
	promoted := false
	defer func() {
		if promoted {
			s.notify()
		}
	}()
	if e.EventID != "" {
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			var found bool
			err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM events WHERE id = ?)`, e.EventID).Scan(&found)
			if err != nil {
				return err
			}
			if !found {
				return fmt.Errorf("event %q: %w", e.EventID, hookd.ErrNotFound)
			}
			out, promoted, err = s.eraseEvents(ctx, tx, []string{e.EventID})
			return err
		})
		if err != nil {
			return hookd.Erased{}, err
		}
		return out, nil
	}
	byProject := e.ProjectID != ""
	var key any = e.ProjectID
	if !byProject {
		key = *e.UserID
	}
	var after int64 // the rowid of the last event erased
	for {
		var (
			chunk     hookd.Erased
			lanesLeft bool
			more      bool
		)
		_, err := s.chunk(ctx, func(tx *sql.Tx) (int64, error) {
			rows, err := tx.QueryContext(ctx, eraseWalkQueries[byProject], key, after, eraseChunk)
			if err != nil {
				return 0, err
			}
			var (
				rowids     []int64
				ids        []string
				deliveries []int
			)
			for rows.Next() {
				var (
					rowid int64
					id    string
					n     int
				)
				if err := rows.Scan(&rowid, &id, &n); err != nil {
					rows.Close()
					return 0, err
				}
				rowids, ids, deliveries = append(rowids, rowid), append(ids, id), append(deliveries, n)
			}
			if err := rows.Close(); err != nil {
				return 0, err
			}
			// The events past the chunk's cost go in the next chunk.
			take := hookd.EraseChunkLen(deliveries, eraseChunk)
			more = take < len(ids) || len(ids) == eraseChunk
			if take == 0 {
				return 0, nil
			}
			after = rowids[take-1]
			chunk, lanesLeft, err = s.eraseEvents(ctx, tx, ids[:take])
			return int64(chunk.Events + chunk.Cancelled + chunk.Attempts), err
		})
		if err != nil {
			return out, err
		}
		out.Events += chunk.Events
		out.Cancelled += chunk.Cancelled
		out.Attempts += chunk.Attempts
		promoted = promoted || lanesLeft
		if !more {
			return out, nil
		}
	}
}

// eraseEvents erases the events ids in tx: their data, the response bodies
// logged for them, and their pending deliveries, failed for good with an
// attempt logged as hookd.ErasedErrorClass; the lanes those deliveries
// headed go on. It says whether it unblocked a lane's delivery (the caller
// wakes the claims up once it commits). An event waiting for its fan-out
// (fan_outs) needs nothing more: FanOut creates no delivery of an erased
// event.
func (s *Store) eraseEvents(ctx context.Context, tx *sql.Tx, ids []string) (hookd.Erased, bool, error) {
	var out hookd.Erased
	now := s.clock.Now()
	list, err := json.Marshal(ids)
	if err != nil {
		return out, false, err
	}
	// A delivery cancelled below may be its lane's head: the next one
	// goes then, as when a delivery fails for good.
	cancelled, _, err := lanesOf(ctx, tx, `SELECT DISTINCT webhook_id, lane FROM deliveries
		WHERE event_id IN (SELECT value FROM json_each(?1)) AND state = 'pending' AND lane IS NOT NULL`, string(list))
	if err != nil {
		return out, false, err
	}
	for _, st := range []struct {
		count *int
		sql   string
		args  []any
	}{
		{&out.Events, `UPDATE events SET data = '{}', erased_at = ?2 WHERE id IN (SELECT value FROM json_each(?1))`, nil},
		{&out.Attempts, `UPDATE attempts SET response_body = '' WHERE response_body <> '' AND delivery_id IN (
			SELECT id FROM deliveries WHERE event_id IN (SELECT value FROM json_each(?1)))`, nil},
		// The cancelled deliveries' log entries, then the cancelling.
		{nil, `INSERT INTO attempts (delivery_id, webhook_id, event_id, event, message_id, attempt, success,
			http_status, duration_ns, error_class, error, request_headers, response_body, next_attempt_at, created_at)
			SELECT d.id, d.webhook_id, d.event_id, e.event, d.message_id, d.attempts + 1, 0, 0, 0, ?3, ?4, '{}', '', NULL, ?2
			FROM deliveries d JOIN events e ON e.id = d.event_id
			WHERE d.event_id IN (SELECT value FROM json_each(?1)) AND d.state = 'pending'`,
			[]any{hookd.ErasedErrorClass, hookd.ErasedError}},
		{&out.Cancelled, `UPDATE deliveries SET state = 'failed', last_attempt_at = ?2,
			leased_by = NULL, lease_until = NULL
			WHERE event_id IN (SELECT value FROM json_each(?1)) AND state = 'pending'`, nil},
	} {
		res, err := tx.ExecContext(ctx, st.sql, append([]any{string(list), ms(now)}, st.args...)...)
		if err != nil {
			return out, false, err
		}
		if st.count != nil {
			n, err := res.RowsAffected()
			if err != nil {
				return out, false, err
			}
			*st.count = int(n)
		}
	}
	promoted, err := s.promote(ctx, tx, cancelled, now)
	return out, promoted, err
}
