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
// rows act changed.
func (s *Store) walk(ctx context.Context, table string, from, before int64, act string) (int64, error) {
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
			return res.RowsAffected()
		})
		total += n
		if err != nil || read < hookd.PruneChunk {
			return total, err
		}
	}
}

// ClearPayloads clears event data and logged response bodies from where
// the previous call ended (payloads_cleared) to before.
func (s *Store) ClearPayloads(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for _, c := range []struct{ table, act string }{
		{"events", `UPDATE events SET data = '{}' WHERE id IN (SELECT value FROM json_each(?)) AND data <> '{}'
			AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = events.id AND d.state = 'pending')
			AND NOT EXISTS (SELECT 1 FROM fan_outs f WHERE f.event_id = events.id)`},
		{"attempts", `UPDATE attempts SET response_body = '' WHERE id IN (SELECT value FROM json_each(?))
			AND response_body <> ''`},
	} {
		var from int64
		err := s.w.QueryRowContext(ctx, `SELECT cleared_before FROM payloads_cleared WHERE table_name = ?`, c.table).Scan(&from)
		if err != nil && err != sql.ErrNoRows {
			return total, mapErr(err)
		}
		if from >= ms(before) {
			continue
		}
		n, err := s.walk(ctx, c.table, from, ms(before), c.act)
		total += n
		if err != nil {
			return total, err
		}
		if _, err := s.w.ExecContext(ctx, `INSERT INTO payloads_cleared (table_name, cleared_before) VALUES (?, ?)
			ON CONFLICT (table_name) DO UPDATE SET cleared_before = excluded.cleared_before`, c.table, ms(before)); err != nil {
			return total, mapErr(err)
		}
	}
	return total, nil
}

// Erase erases the events e names (hookd.Erasure) in one transaction.
func (s *Store) Erase(ctx context.Context, e hookd.Erasure) (hookd.Erased, error) {
	var out hookd.Erased
	promoted := false
	now := ms(s.clock.Now())
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var rows *sql.Rows
		var err error
		switch {
		case e.EventID != "":
			rows, err = tx.QueryContext(ctx, `SELECT id FROM events WHERE id = ?`, e.EventID)
		case e.ProjectID != "":
			rows, err = tx.QueryContext(ctx, `SELECT id FROM events WHERE project_id = ?`, e.ProjectID)
		default:
			rows, err = tx.QueryContext(ctx, `SELECT id FROM events WHERE user_id = ?`, *e.UserID)
		}
		if err != nil {
			return err
		}
		var ids []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if len(ids) == 0 {
			if e.EventID != "" {
				return fmt.Errorf("event %q: %w", e.EventID, hookd.ErrNotFound)
			}
			return nil
		}
		list, err := json.Marshal(ids)
		if err != nil {
			return err
		}
		// A delivery cancelled below may be its lane's head: the next one
		// goes then, as when a delivery fails for good.
		cancelled, _, err := lanesOf(ctx, tx, `SELECT DISTINCT webhook_id, lane FROM deliveries
			WHERE event_id IN (SELECT value FROM json_each(?1)) AND state = 'pending' AND lane IS NOT NULL`, string(list))
		if err != nil {
			return err
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
			res, err := tx.ExecContext(ctx, st.sql, append([]any{string(list), now}, st.args...)...)
			if err != nil {
				return err
			}
			if st.count != nil {
				n, err := res.RowsAffected()
				if err != nil {
					return err
				}
				*st.count = int(n)
			}
		}
		promoted, err = s.promote(ctx, tx, cancelled, s.clock.Now())
		return err
	})
	if err != nil {
		return hookd.Erased{}, err
	}
	if promoted {
		s.notify()
	}
	return out, nil
}
