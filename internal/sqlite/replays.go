package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/hookd/hookd"
)

// Replays: the rules are hookd.Replay's (replay.go); this stores and
// queries them.

// CreateReplay stores r, counting the events of its range.
func (s *Store) CreateReplay(ctx context.Context, r *hookd.Replay) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := webhookExists(ctx, tx, r.WebhookID); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM events WHERE created_at >= ? AND created_at < ?`,
			ms(r.Since), ms(r.Until)).Scan(&r.Total); err != nil {
			return err
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO replays (webhook_id, since, until, include_succeeded, state,
			total, scanned, queued, after_at, after_id, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			r.WebhookID, ms(r.Since), ms(r.Until), r.IncludeSucceeded, string(r.State), r.Total, r.Scanned,
			r.Queued, ms(r.AfterAt), r.AfterID, ms(r.CreatedAt)).Scan(&r.ID)
		if isUnique(err) {
			return fmt.Errorf("webhook %d: a replay is running: %w", r.WebhookID, hookd.ErrConflict)
		}
		return err
	})
}

const replayColumns = `id, webhook_id, since, until, include_succeeded, state, total, scanned, queued,
	skipped_payload_expired, after_at, after_id, created_at, finished_at`

// replayFigures counts a replay's deliveries by state.
const replayFigures = `SELECT state, count(*) FROM deliveries WHERE replay_id = ? GROUP BY state`

func scanReplay(sc interface{ Scan(...any) error }) (*hookd.Replay, error) {
	var (
		r                              hookd.Replay
		since, until, afterAt, created int64
		finished                       sql.NullInt64
		state                          string
	)
	err := sc.Scan(&r.ID, &r.WebhookID, &since, &until, &r.IncludeSucceeded, &state, &r.Total, &r.Scanned,
		&r.Queued, &r.SkippedPayloadExpired, &afterAt, &r.AfterID, &created, &finished)
	if err != nil {
		return nil, notFound(err)
	}
	r.Since, r.Until, r.AfterAt, r.CreatedAt = fromMS(since), fromMS(until), fromMS(afterAt), fromMS(created)
	r.State, r.FinishedAt = hookd.ReplayState(state), timePtr(finished)
	return &r, nil
}

// readReplay reads a replay of the webhook with its figures.
func readReplay(ctx context.Context, q querier, webhookID, id int64) (*hookd.Replay, error) {
	r, err := scanReplay(q.QueryRowContext(ctx, `SELECT `+replayColumns+` FROM replays WHERE id = ? AND webhook_id = ?`,
		id, webhookID))
	if err != nil {
		return nil, err
	}
	return r, replayOutcomes(ctx, q, r)
}

// readRunningReplay reads a replay with its pending deliveries counted,
// which are few (hookd.ReplayQueueLimit), and not its finished ones, which
// grow with the replay.
func readRunningReplay(ctx context.Context, q querier, id int64) (*hookd.Replay, error) {
	r, err := scanReplay(q.QueryRowContext(ctx, `SELECT `+replayColumns+` FROM replays WHERE id = ?`, id))
	if err != nil {
		return nil, err
	}
	return r, q.QueryRowContext(ctx, `SELECT count(*) FROM deliveries WHERE replay_id = ? AND state = 'pending'`, id).Scan(&r.Pending)
}

// replayOutcomes reads what became of r's deliveries.
func replayOutcomes(ctx context.Context, q querier, r *hookd.Replay) error {
	rows, err := q.QueryContext(ctx, replayFigures, r.ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			return err
		}
		switch hookd.DeliveryState(state) {
		case hookd.StatePending:
			r.Pending = n
		case hookd.StateSucceeded:
			r.Succeeded = n
		case hookd.StateFailed:
			r.Failed = n
		}
	}
	return rows.Err()
}

// Replay reads one of the webhook's replays.
func (s *Store) Replay(ctx context.Context, webhookID, id int64) (*hookd.Replay, error) {
	var r *hookd.Replay
	err := s.inReadTx(ctx, func(tx *sql.Tx) (err error) {
		r, err = readReplay(ctx, tx, webhookID, id)
		return err
	})
	return r, err
}

// ListReplays lists the webhook's replays, newest first.
func (s *Store) ListReplays(ctx context.Context, webhookID int64, limit int) ([]*hookd.Replay, error) {
	out := []*hookd.Replay{}
	err := s.inReadTx(ctx, func(tx *sql.Tx) error {
		if err := webhookExists(ctx, tx, webhookID); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+replayColumns+` FROM replays WHERE webhook_id = ?
			ORDER BY id DESC LIMIT ?`, webhookID, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scanReplay(rows)
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		for _, r := range out {
			if err := replayOutcomes(ctx, tx, r); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// CancelReplay cancels a running replay and drops the deliveries it lets
// go (hookd.Replay.Cancel): pending, never attempted, not in flight.
func (s *Store) CancelReplay(ctx context.Context, webhookID, id int64) (*hookd.Replay, error) {
	var r *hookd.Replay
	var promoted bool
	err := s.inTx(ctx, func(tx *sql.Tx) (err error) {
		if r, err = readReplay(ctx, tx, webhookID, id); err != nil {
			return err
		}
		now := s.clock.Now()
		if !r.Cancel(now) {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE replays SET state = ?, finished_at = ? WHERE id = ?`,
			string(r.State), nullMS(r.FinishedAt), r.ID); err != nil {
			return err
		}
		// A dropped lane head leaves its lane to the next delivery.
		dropped, _, err := lanesOf(ctx, tx, `DELETE FROM deliveries WHERE replay_id = ?1 AND state = 'pending'
			AND attempts = 0 AND (leased_by IS NULL OR lease_until <= ?2) RETURNING webhook_id, lane`, r.ID, ms(now))
		if err != nil {
			return err
		}
		if promoted, err = s.promote(ctx, tx, dropped, now); err != nil {
			return err
		}
		r.Pending, r.Succeeded, r.Failed = 0, 0, 0
		return replayOutcomes(ctx, tx, r)
	})
	if promoted {
		s.notify()
	}
	return r, err
}

// RunningReplays returns the ids of the running replays, oldest first.
func (s *Store) RunningReplays(ctx context.Context) ([]int64, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id FROM replays WHERE state = 'running' ORDER BY id`)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, mapErr(rows.Err())
}

// ReplayChunk works the next chunk of a running replay.
func (s *Store) ReplayChunk(ctx context.Context, id int64) (*hookd.Replay, bool, error) {
	var (
		r        *hookd.Replay
		advanced bool
		queued   int
	)
	err := s.inTx(ctx, func(tx *sql.Tx) (err error) {
		if r, err = readRunningReplay(ctx, tx, id); err != nil || r.State != hookd.ReplayRunning {
			return err
		}
		hooks, err := subscribers(ctx, tx, "webhooks.id = ?", r.WebhookID)
		if err != nil || len(hooks) == 0 {
			return err // its webhook is being deleted: the replay goes with it
		}
		w := hooks[0]
		if hookd.ReplayWaits(w, r.Pending) {
			return nil
		}
		chunk, err := replayCandidates(ctx, tx, r)
		if err != nil {
			return err
		}
		// The lanes of an ordered webhook, as a publish's deliveries join them.
		subs, _, err := s.subscriptions(ctx, tx)
		if err != nil {
			return err
		}
		filter := s.subs.Filter(w.Filter)
		now := s.clock.Now()
		deliveries := s.newDeliveries(tx, subs, now)
		deliveries.replayID = &r.ID
		for _, c := range chunk {
			messageID, ok := r.Resend(w, filter, c)
			if !ok {
				continue
			}
			if err := deliveries.addAs(ctx, w.ID, c.Event, messageID); err != nil {
				return err
			}
			queued++
		}
		if err := deliveries.done(ctx); err != nil {
			return err
		}
		r.Advance(chunk, queued, len(chunk) < hookd.ReplayChunkSize, now)
		r.Pending += queued
		advanced = true
		_, err = tx.ExecContext(ctx, `UPDATE replays SET state = ?, scanned = ?, queued = ?, skipped_payload_expired = ?,
			after_at = ?, after_id = ?, finished_at = ? WHERE id = ?`, string(r.State), r.Scanned, r.Queued,
			r.SkippedPayloadExpired, ms(r.AfterAt), r.AfterID, nullMS(r.FinishedAt), r.ID)
		return err
	})
	if err != nil {
		return nil, false, err
	}
	if queued > 0 {
		s.notify()
	}
	return r, advanced, nil
}

// replayCandidates reads the next chunk of r's events, in order, each with
// what became of its deliveries to r's webhook. The range of created_at
// starts at the replay's place, so each chunk reads the index from there;
// the + keep SQLite on the deliveries of each event (deliveries_event)
// rather than on all of the webhook's (deliveries_webhook).
func replayCandidates(ctx context.Context, tx *sql.Tx, r *hookd.Replay) ([]hookd.ReplayCandidate, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+eventColumns+`,
		(SELECT d.message_id FROM deliveries d WHERE d.event_id = e.id AND +d.webhook_id = ?1 ORDER BY d.id LIMIT 1),
		EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND +d.webhook_id = ?1 AND +d.state = 'pending')
		  OR EXISTS (SELECT 1 FROM fan_outs f WHERE f.event_id = e.id
		    AND (f.webhook_id IS NULL AND f.after_webhook_id < ?1 OR f.webhook_id = ?1)),
		EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND +d.webhook_id = ?1 AND +d.state = 'succeeded'),
		e.erased_at IS NOT NULL,
		e.created_at < coalesce((SELECT cleared_before FROM payloads_cleared WHERE table_name = 'events'), 0)
		FROM events e
		WHERE e.created_at >= ?3 AND e.created_at < ?2 AND (e.created_at > ?3 OR e.id > ?4)
		ORDER BY e.created_at, e.id LIMIT ?5`,
		r.WebhookID, ms(r.Until), ms(r.AfterAt), r.AfterID, hookd.ReplayChunkSize)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var chunk []hookd.ReplayCandidate
	for rows.Next() {
		var (
			c         hookd.ReplayCandidate
			messageID sql.NullString
		)
		c.Event, err = scanEvent(rows, &messageID, &c.Pending, &c.Succeeded, &c.Erased, &c.PayloadCleared)
		if err != nil {
			return nil, err
		}
		c.MessageID = messageID.String
		chunk = append(chunk, c)
	}
	return chunk, rows.Err()
}

// RequeueFailed makes every webhook's deliveries that failed for good, with
// a last attempt in [from, to), due again now, as Requeue does.
func (s *Store) RequeueFailed(ctx context.Context, from, to time.Time) (int, error) {
	return s.requeue(ctx, 0, from, to)
}
