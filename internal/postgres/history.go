package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd"
)

// dayPartitioned are the tables partitioned by day (migration 0016), each
// with its DEFAULT partition and the column that places a row in a day.
var dayPartitioned = []struct{ parent, catchAll, key string }{
	{"attempts", "attempts_default", "created_at"},
	{"deliveries_done", "deliveries_done_default", "last_attempt_at"},
}

// Prune makes the day partitions ahead (hookd.DayPartitions), drops those
// whose whole day is before before (a DROP TABLE each, however many rows),
// deletes the old rows of the catch-all partitions, and the events created
// before before that no delivery refers to any more, PruneChunk rows a
// statement. It returns how many rows went (dropped days: estimated).
func (s *Store) Prune(ctx context.Context, before time.Time) (int64, error) {
	before = ms(before)
	var total int64
	for _, p := range dayPartitioned {
		for _, day := range hookd.DayPartitions(s.clock.Now()) {
			if _, err := s.pool.Exec(ctx, `SELECT hookd_day_partition($1::regclass, $2::date)`, p.parent, day); err != nil {
				return total, wrapErr(err)
			}
		}
		var dropped int64
		if err := s.pool.QueryRow(ctx, `SELECT hookd_drop_day_partitions($1::regclass, $2)`, p.parent, before).Scan(&dropped); err != nil {
			return total, wrapErr(err)
		}
		total += dropped
		n, err := s.inChunks(ctx, `DELETE FROM `+p.catchAll+` WHERE ctid IN (
			SELECT ctid FROM `+p.catchAll+` WHERE `+p.key+` < $1 LIMIT $2)`, before)
		total += n
		if err != nil {
			return total, err
		}
	}
	// OFFSET 0 keeps the NOT EXISTS a probe of each partition's index for
	// each event: as an anti-join the planner reads every delivery instead.
	n, err := s.walkEvents(ctx, `
		DELETE FROM events e USING batch b WHERE e.id = b.id
		AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id OFFSET 0)
		AND NOT EXISTS (SELECT 1 FROM fan_outs f WHERE f.event_id = e.id)`, time.Time{}, before)
	return total + n, err
}

// inChunks runs stmt, which affects up to $2 rows (PruneChunk) of those
// $1 selects, until it affects fewer, and returns how many it affected.
func (s *Store) inChunks(ctx context.Context, stmt string, arg any) (int64, error) {
	var total int64
	for {
		tag, err := s.pool.Exec(ctx, stmt, arg, hookd.PruneChunk)
		if err != nil {
			return total, wrapErr(err)
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < hookd.PruneChunk {
			return total, nil
		}
	}
}

// walkEvents runs act over the events created in [from, before), PruneChunk
// of them a statement in (created_at, id) order, each chunk as the CTE
// batch (id), and returns how many rows act changed. It walks on from the
// last event read, so events act leaves (those still needed) are not read
// again.
func (s *Store) walkEvents(ctx context.Context, act string, from, before time.Time) (int64, error) {
	return s.walk(ctx, `
		WITH batch AS MATERIALIZED (
			SELECT id, created_at FROM events
			WHERE created_at >= $1 AND created_at < $2 AND (created_at, id) > ($3, $4)
			ORDER BY created_at, id LIMIT $5
		), acted AS (`+act+` RETURNING 1)
		SELECT (SELECT count(*) FROM acted), (SELECT count(*) FROM batch), last.created_at, last.id
		FROM (SELECT 1) one LEFT JOIN (SELECT created_at, id FROM batch ORDER BY created_at DESC, id DESC LIMIT 1) last ON true`,
		from, before, "")
}

// walk runs a walking statement (see walkEvents) chunk by chunk, from the
// row (from, firstID).
func (s *Store) walk(ctx context.Context, stmt string, from, before time.Time, firstID any) (int64, error) {
	var (
		total   int64
		afterAt = from
		afterID = firstID
	)
	for {
		var (
			acted, read int64
			lastAt      *time.Time
			lastID      any
		)
		if err := s.pool.QueryRow(ctx, stmt, from, before, afterAt, afterID, hookd.PruneChunk).
			Scan(&acted, &read, &lastAt, &lastID); err != nil {
			return total, wrapErr(err)
		}
		total += acted
		if read < hookd.PruneChunk || lastAt == nil {
			return total, nil
		}
		afterAt, afterID = *lastAt, lastID
	}
}

// payloadNeeded is the condition that the data of the event whose id is
// column id is still needed: a delivery of it is pending, or its fan-out
// waits.
func payloadNeeded(id string) string {
	return `(EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = ` + id + ` AND d.state = 'pending')
		OR EXISTS (SELECT 1 FROM fan_outs f WHERE f.event_id = ` + id + `))`
}

// clearWaitingSQL reads the next PruneChunk events of payloads_waiting
// after $1 (by id), clears the data of those no longer needed, and forgets
// them. However many are still needed, a statement reads no more than its
// chunk (its snapshot is short) and writes only what it clears: the rest
// are read, neither written nor locked, and the next statement goes on
// after the last one read. (The check is made again as each row is
// deleted: a requeue may need one again meanwhile.)
var clearWaitingSQL = `
WITH scanned AS MATERIALIZED (
	SELECT event_id AS id FROM payloads_waiting WHERE event_id > $1 ORDER BY event_id LIMIT $2
), due AS MATERIALIZED (
	SELECT id FROM scanned s WHERE NOT ` + payloadNeeded("s.id") + `
), done AS (
	DELETE FROM payloads_waiting w USING due
	WHERE w.event_id = due.id AND NOT ` + payloadNeeded("w.event_id") + `
	RETURNING w.event_id
), acted AS (
	UPDATE events e SET data = '{}' FROM done WHERE e.id = done.event_id AND e.data::text <> '{}'
	RETURNING 1
)
SELECT (SELECT count(*) FROM acted), (SELECT count(*) FROM scanned), (SELECT max(id) FROM scanned)`

// ClearPayloads clears event data and logged response bodies from where
// the previous call ended (payloads_cleared) to before, and the data of
// the events it kept before (payloads_waiting) that are no longer needed.
func (s *Store) ClearPayloads(ctx context.Context, before time.Time) (int64, error) {
	before = ms(before)
	var total int64
	for after := ""; ; {
		var acted, read int64
		var last *string
		if err := s.pool.QueryRow(ctx, clearWaitingSQL, after, hookd.PruneChunk).Scan(&acted, &read, &last); err != nil {
			return total, wrapErr(err)
		}
		total += acted
		if read < hookd.PruneChunk || last == nil {
			break
		}
		after = *last
	}
	for _, c := range []struct {
		table, walkSQL string
		firstID        any // less than any id
	}{
		{"events", `
		WITH batch AS MATERIALIZED (
			SELECT id, created_at FROM events
			WHERE created_at >= $1 AND created_at < $2 AND (created_at, id) > ($3, $4)
			ORDER BY created_at, id LIMIT $5
		), acted AS (
			UPDATE events e SET data = '{}' FROM batch b
			WHERE e.id = b.id AND e.data::text <> '{}' AND NOT ` + payloadNeeded("e.id") + `
			RETURNING 1
		), kept AS (
			INSERT INTO payloads_waiting (event_id)
			SELECT e.id FROM events e JOIN batch b ON b.id = e.id
			WHERE e.data::text <> '{}' AND ` + payloadNeeded("e.id") + `
			ON CONFLICT DO NOTHING)
		SELECT (SELECT count(*) FROM acted), (SELECT count(*) FROM batch), last.created_at, last.id
		FROM (SELECT 1) one LEFT JOIN (SELECT created_at, id FROM batch ORDER BY created_at DESC, id DESC LIMIT 1) last ON true`, ""},
		{"attempts", `
		WITH batch AS MATERIALIZED (
			SELECT id, created_at FROM attempts
			WHERE created_at >= $1 AND created_at < $2 AND (created_at, id) > ($3, $4::bigint)
			ORDER BY created_at, id LIMIT $5
		), acted AS (
			UPDATE attempts a SET response_body = '' FROM batch b
			WHERE a.id = b.id AND a.created_at = b.created_at AND a.response_body <> ''
			RETURNING 1)
		SELECT (SELECT count(*) FROM acted), (SELECT count(*) FROM batch), last.created_at, last.id
		FROM (SELECT 1) one LEFT JOIN (SELECT created_at, id FROM batch ORDER BY created_at DESC, id DESC LIMIT 1) last ON true`, int64(0)},
	} {
		var from time.Time
		err := s.pool.QueryRow(ctx, `SELECT cleared_before FROM payloads_cleared WHERE table_name = $1`, c.table).Scan(&from)
		if err != nil && err != pgx.ErrNoRows {
			return total, wrapErr(err)
		}
		if !from.Before(before) {
			continue
		}
		n, err := s.walk(ctx, c.walkSQL, from, before, c.firstID)
		total += n
		if err != nil {
			return total, err
		}
		if _, err := s.pool.Exec(ctx, `INSERT INTO payloads_cleared (table_name, cleared_before) VALUES ($1, $2)
			ON CONFLICT (table_name) DO UPDATE SET cleared_before = excluded.cleared_before`, c.table, before); err != nil {
			return total, wrapErr(err)
		}
	}
	return total, nil
}

// eraseSQL erases the events $1 (ids), in one statement: their data, the
// response bodies logged for them, and their pending deliveries, failed for
// good with an attempt logged as hookd.ErasedErrorClass, at $2.
const eraseSQL = `
WITH ev AS (
	UPDATE events SET data = '{}', erased_at = $2 WHERE id = ANY($1) RETURNING id, event
), bodies AS (
	UPDATE attempts SET response_body = '' WHERE event_id = ANY($1) AND response_body <> '' RETURNING 1
), cancelled AS (
	UPDATE deliveries SET state = 'failed', last_attempt_at = $2, leased_by = NULL, lease_until = NULL
	WHERE event_id = ANY($1) AND state = 'pending'
	RETURNING id, webhook_id, event_id, message_id, attempts
), logged AS (
	INSERT INTO attempts (delivery_id, webhook_id, event_id, event, message_id, attempt, success, http_status,
	                      duration_ns, error_class, error, request_headers, response_body, created_at)
	SELECT c.id, c.webhook_id, c.event_id, ev.event, c.message_id, c.attempts + 1, false, 0,
	       0, $3, $4, '{}', '', $2
	FROM cancelled c JOIN ev ON ev.id = c.event_id
)
SELECT (SELECT count(*) FROM ev), (SELECT count(*) FROM cancelled), (SELECT count(*) FROM bodies)`

// eraseWalkSQL reads the next events of a project's or a user's ($1)
// after id $2, at most $3, in id order, with the deliveries each was
// published with (for hookd.EraseChunkLen): one descent of events_project
// or events_user ((key, id), migration 0025) a chunk, and no sort, however
// many events the project or user has.
var eraseWalkSQL = map[bool]string{
	true:  `SELECT id, deliveries FROM events WHERE project_id = $1 AND id > $2 ORDER BY id LIMIT $3`,
	false: `SELECT id, deliveries FROM events WHERE user_id = $1 AND id > $2 ORDER BY id LIMIT $3`,
}

// Erase erases the events e names (hookd.Erasure). One event is erased in
// one transaction.
//
// A project's or a user's events are erased in chunks (hookd.EraseChunk),
// each in a transaction of its own, so that an erasure of any size never
// holds its events' and deliveries' row locks, nor one transaction, for
// long: claims and completions go on between chunks. It walks the events
// in id order (eraseWalkSQL), reading one chunk's events, then erasing
// them, so that it holds one chunk's ids at a time and no statement, nor
// snapshot, lasts the whole erasure, whatever the project's size. Each
// chunk locks its events in id order and does for them all that erasing an
// event does, lanes included, so the store is consistent after each. Every
// event the project or user had when Erase began is erased; one published
// meanwhile is erased if its id is above the walk's place when it commits,
// so it may be erased, or not. An Erase cut short (an error, a cancelled
// context, a crash) leaves its first chunks erased and the rest untouched,
// and erasing again is safe (an erased event is rewritten the same way; it
// has no pending delivery left to cancel nor body to clear). Meanwhile, the
// deliveries of the events of later chunks may still be claimed, as they
// could before the Erase; the claims are woken, if a chunk unblocked a
// lane, when Erase ends. The totals are the chunks' sum; with an error,
// what the chunks that committed did.
func (s *Store) Erase(ctx context.Context, e hookd.Erasure) (hookd.Erased, error) {
	var out hookd.Erased
	promoted := false
	defer func() {
		if promoted {
			s.wakeup()
		}
	}()
	if e.EventID != "" {
		var err error
		out, promoted, err = s.eraseChunk(ctx, []string{e.EventID})
		if err != nil {
			return hookd.Erased{}, wrapErr(err)
		}
		if out.Events == 0 {
			return out, fmt.Errorf("event %q: %w", e.EventID, hookd.ErrNotFound)
		}
		return out, nil
	}
	byProject := e.ProjectID != ""
	var key any = e.ProjectID
	if !byProject {
		key = *e.UserID
	}
	for after := ""; ; {
		rows, _ := s.pool.Query(ctx, eraseWalkSQL[byProject], key, after, hookd.EraseChunk)
		var (
			ids        []string
			deliveries []int
			id         string
			n          int
		)
		if _, err := pgx.ForEachRow(rows, []any{&id, &n}, func() error {
			ids, deliveries = append(ids, id), append(deliveries, n)
			return nil
		}); err != nil {
			return out, wrapErr(err)
		}
		// The events past the chunk's cost are read again for the next.
		take := hookd.EraseChunkLen(deliveries, hookd.EraseChunk)
		if take == 0 {
			return out, nil
		}
		chunk, lanesLeft, err := s.eraseChunk(ctx, ids[:take])
		if err != nil {
			return out, wrapErr(err)
		}
		out.Events += chunk.Events
		out.Cancelled += chunk.Cancelled
		out.Attempts += chunk.Attempts
		promoted = promoted || lanesLeft
		if take == len(ids) && len(ids) < hookd.EraseChunk {
			return out, nil
		}
		after = ids[take-1]
	}
}

// eraseChunk erases the events ids in a transaction (eraseSQL). Its
// deliveries cancelled may head their lanes: the next ones go, as when a
// delivery fails for good; it says whether one did.
func (s *Store) eraseChunk(ctx context.Context, ids []string) (hookd.Erased, bool, error) {
	var out hookd.Erased
	promoted := false
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// In id order, so that erasures of overlapping events (a project's
		// and a user's) wait for each other rather than deadlock.
		if _, err := tx.Exec(ctx, `SELECT FROM events WHERE id = ANY($1) ORDER BY id FOR UPDATE`, ids); err != nil {
			return err
		}
		cancelled, err := lockLanesOf(ctx, tx, `SELECT DISTINCT webhook_id, lane FROM deliveries
			WHERE event_id = ANY($1) AND state = 'pending' AND lane IS NOT NULL`, ids)
		if err != nil {
			return err
		}
		now := s.clock.Now()
		if err := tx.QueryRow(ctx, eraseSQL, ids, ms(now), hookd.ErasedErrorClass, hookd.ErasedError).
			Scan(&out.Events, &out.Cancelled, &out.Attempts); err != nil || len(cancelled) == 0 {
			return err
		}
		b := &pgx.Batch{}
		cancelled.queuePromote(b, now, &promoted)
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return hookd.Erased{}, false, err
	}
	return out, promoted, nil
}
