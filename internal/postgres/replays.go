package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd"
)

// Replays: the rules are hookd.Replay's (replay.go); this stores and
// queries them. Their chunks run in one process at a time (the
// dispatcher's replay loop takes a lead), and each locks its replay's row,
// so that a cancel waits for the chunk or the chunk sees the cancel.

// CreateReplay stores r, counting the events of its range.
func (s *Store) CreateReplay(ctx context.Context, r *hookd.Replay) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM webhooks WHERE id = $1 FOR KEY SHARE)`, r.WebhookID).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return fmt.Errorf("webhook %d: %w", r.WebhookID, hookd.ErrNotFound)
		}
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM events WHERE created_at >= $1 AND created_at < $2`,
			ms(r.Since), ms(r.Until)).Scan(&r.Total); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `INSERT INTO replays (webhook_id, since, until, include_succeeded, state,
			total, scanned, queued, after_at, after_id, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
			r.WebhookID, ms(r.Since), ms(r.Until), r.IncludeSucceeded, string(r.State), r.Total, r.Scanned,
			r.Queued, ms(r.AfterAt), r.AfterID, ms(r.CreatedAt)).Scan(&r.ID)
	})
	if isCode(err, codeUniqueViolation) {
		return fmt.Errorf("webhook %d: a replay is running: %w", r.WebhookID, hookd.ErrConflict)
	}
	return wrapErr(err)
}

const replayColumns = `id, webhook_id, since, until, include_succeeded, state, total, scanned, queued,
	skipped_payload_expired, after_at, after_id, created_at, finished_at`

func scanReplay(row pgx.Row) (*hookd.Replay, error) {
	var r hookd.Replay
	var state string
	err := row.Scan(&r.ID, &r.WebhookID, &r.Since, &r.Until, &r.IncludeSucceeded, &state, &r.Total, &r.Scanned,
		&r.Queued, &r.SkippedPayloadExpired, &r.AfterAt, &r.AfterID, &r.CreatedAt, &r.FinishedAt)
	if err != nil {
		return nil, err
	}
	r.State = hookd.ReplayState(state)
	return &r, nil
}

// readReplay reads a replay of the webhook with its figures; lock adds a
// locking clause.
func readReplay(ctx context.Context, q querier, webhookID, id int64, lock string) (*hookd.Replay, error) {
	r, err := scanReplay(q.QueryRow(ctx, `SELECT `+replayColumns+` FROM replays
		WHERE id = $1 AND webhook_id = $2 `+lock, id, webhookID))
	if err != nil {
		return nil, wrapErr(err)
	}
	return r, replayOutcomes(ctx, q, []*hookd.Replay{r})
}

// readRunningReplay reads a replay, locked, with its pending deliveries
// counted, which are few (hookd.ReplayQueueLimit), and not its finished
// ones, which grow with the replay.
func readRunningReplay(ctx context.Context, tx pgx.Tx, id int64) (*hookd.Replay, error) {
	r, err := scanReplay(tx.QueryRow(ctx, `SELECT `+replayColumns+` FROM replays WHERE id = $1 FOR UPDATE`, id))
	if err != nil {
		return nil, err
	}
	return r, tx.QueryRow(ctx, `SELECT count(*) FROM deliveries WHERE replay_id = $1 AND state = 'pending'`, id).Scan(&r.Pending)
}

// replayOutcomes reads what became of the replays' deliveries.
func replayOutcomes(ctx context.Context, q querier, replays []*hookd.Replay) error {
	byID := make(map[int64]*hookd.Replay, len(replays))
	ids := make([]int64, len(replays))
	for i, r := range replays {
		byID[r.ID], ids[i] = r, r.ID
		r.Pending, r.Succeeded, r.Failed = 0, 0, 0
	}
	rows, _ := q.Query(ctx, `SELECT replay_id, state, count(*) FROM deliveries WHERE replay_id = ANY($1)
		GROUP BY replay_id, state`, ids)
	var id int64
	var state string
	var n int
	_, err := pgx.ForEachRow(rows, []any{&id, &state, &n}, func() error {
		r := byID[id]
		switch hookd.DeliveryState(state) {
		case hookd.StatePending:
			r.Pending = n
		case hookd.StateSucceeded:
			r.Succeeded = n
		case hookd.StateFailed:
			r.Failed = n
		}
		return nil
	})
	return err
}

// Replay reads one of the webhook's replays.
func (s *Store) Replay(ctx context.Context, webhookID, id int64) (*hookd.Replay, error) {
	return readReplay(ctx, s.pool, webhookID, id, "")
}

// ListReplays lists the webhook's replays, newest first.
func (s *Store) ListReplays(ctx context.Context, webhookID int64, limit int) ([]*hookd.Replay, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+replayColumns+` FROM replays WHERE webhook_id = $1
		ORDER BY id DESC LIMIT $2`, webhookID, limit)
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*hookd.Replay, error) { return scanReplay(row) })
	if err != nil {
		return nil, wrapErr(err)
	}
	if len(out) == 0 {
		return []*hookd.Replay{}, s.checkWebhook(ctx, webhookID)
	}
	return out, wrapErr(replayOutcomes(ctx, s.pool, out))
}

// CancelReplay cancels a running replay and drops the deliveries it lets
// go (hookd.Replay.Cancel): pending, never attempted, not in flight.
func (s *Store) CancelReplay(ctx context.Context, webhookID, id int64) (*hookd.Replay, error) {
	var r *hookd.Replay
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) (err error) {
		// The webhook first, FOR SHARE (the order of ordering.go): a lane's
		// next delivery, unblocked below, is parked if a disabling commits
		// first, or the disabling parks it. Before the replay's row: a
		// deletion of the webhook locks the webhook, then the replay.
		if _, err := tx.Exec(ctx, lockWebhooksSQL, []int64{webhookID}); err != nil {
			return err
		}
		if r, err = readReplay(ctx, tx, webhookID, id, "FOR UPDATE"); err != nil {
			return err
		}
		now := s.clock.Now()
		if !r.Cancel(now) {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE replays SET state = $1, finished_at = $2 WHERE id = $3`,
			string(r.State), r.FinishedAt, r.ID); err != nil {
			return err
		}
		// A dropped lane head leaves its lane to the next delivery. A claim
		// that takes an ended lease over meanwhile keeps its delivery: the
		// DELETE checks the lease again on the row it waited for.
		dropped, err := lockLanesOf(ctx, tx, `SELECT DISTINCT webhook_id, lane FROM deliveries WHERE replay_id = $1
			AND state = 'pending' AND attempts = 0 AND (leased_by IS NULL OR lease_until <= $2) AND lane IS NOT NULL`,
			r.ID, now)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM deliveries WHERE replay_id = $1 AND state = 'pending'
			AND attempts = 0 AND (leased_by IS NULL OR lease_until <= $2)`, r.ID, now); err != nil {
			return err
		}
		if len(dropped) > 0 {
			b := &pgx.Batch{}
			dropped.queuePromote(b, now, nil)
			b.Queue(`SELECT pg_notify('` + NotifyChannel + `', '')`)
			if err := tx.SendBatch(ctx, b).Close(); err != nil {
				return err
			}
		}
		return replayOutcomes(ctx, tx, []*hookd.Replay{r})
	})
	return r, wrapErr(err)
}

// RunningReplays returns the ids of the running replays, oldest first.
func (s *Store) RunningReplays(ctx context.Context) ([]int64, error) {
	rows, _ := s.pool.Query(ctx, `SELECT id FROM replays WHERE state = 'running' ORDER BY id`)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	return ids, wrapErr(err)
}

// ReplayChunk works the next chunk of a running replay.
func (s *Store) ReplayChunk(ctx context.Context, id int64) (*hookd.Replay, bool, error) {
	var (
		r        *hookd.Replay
		advanced bool
		queued   int
	)
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) (err error) {
		if r, err = readRunningReplay(ctx, tx, id); err != nil || r.State != hookd.ReplayRunning {
			return err
		}
		// FOR KEY SHARE: the webhook stays until the deliveries are in.
		hooks, err := subscribers(ctx, tx, "id = $1 FOR KEY SHARE", r.WebhookID)
		if err != nil || len(hooks) == 0 {
			return err // its webhook is being deleted: the replay goes with it
		}
		w := hooks[0]
		if hookd.ReplayWaits(w, r.Pending) {
			return nil
		}
		chunk, found, err := replayCandidates(ctx, tx, r)
		if err != nil {
			return err
		}
		// The lanes of an ordered webhook, as a publish's deliveries join them.
		subs, _, err := s.subscriptions(ctx, tx)
		if err != nil {
			return err
		}
		filter := s.subs.Filter(w.Filter)
		now := ms(s.clock.Now())
		var webhooks []int64
		var events, messages []string
		var due []time.Time
		var laneOf []*int64
		laned := lanes{}
		for _, c := range chunk {
			messageID, ok := r.Resend(w, filter, c)
			if !ok {
				continue
			}
			l, ordered := subs.Lane(w.ID, c.Event)
			at, lane := laned.join(w.ID, now, l, ordered)
			webhooks, events, messages = append(webhooks, w.ID), append(events, c.Event.ID), append(messages, messageID)
			due, laneOf = append(due, at), append(laneOf, lane)
		}
		queued = len(events)
		r.Advance(chunk, queued, found < hookd.ReplayChunkSize, now)
		r.Pending += queued
		advanced = true
		b := &pgx.Batch{}
		if queued > 0 {
			queueDeliveries(b, laned, now, webhooks, events, messages, due, laneOf, &r.ID)
			b.Queue(`SELECT pg_notify('` + NotifyChannel + `', '')`)
		}
		b.Queue(`UPDATE replays SET state = $1, scanned = $2, queued = $3, skipped_payload_expired = $4,
			after_at = $5, after_id = $6, finished_at = $7 WHERE id = $8`, string(r.State), r.Scanned, r.Queued,
			r.SkippedPayloadExpired, r.AfterAt, r.AfterID, r.FinishedAt, r.ID)
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return nil, false, wrapErr(err)
	}
	if queued > 0 {
		s.wakeup()
	}
	return r, advanced, nil
}

// replayCandidates reads the next chunk of r's events, in order, each with
// what became of its deliveries to r's webhook: the chunk's events first,
// a range scan of events_created_id from where the replay stands, then the
// deliveries of each of them by event (deliveries_event_id; no condition on
// their state offers the webhook's partial indexes).
func replayCandidates(ctx context.Context, tx pgx.Tx, r *hookd.Replay) ([]hookd.ReplayCandidate, int, error) {
	// The chunk's events stay as read until the deliveries are in (an
	// Erase between would miss them): locked FOR SHARE in id order, as an
	// Erase locks its events FOR UPDATE, and FanOut the ones it waits for.
	// In the chunk's order, a replay and an erasure of the same events
	// deadlocked (40P01). An event pruned before its lock is not in the
	// chunk; whether the replay is done is told by the events found before
	// (found), not by those locked.
	rows, _ := tx.Query(ctx, `SELECT id FROM events WHERE created_at < $1 AND (created_at, id) > ($2, $3)
		ORDER BY created_at, id LIMIT $4`, r.Until, r.AfterAt, r.AfterID, hookd.ReplayChunkSize)
	found, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, 0, err
	}
	rows, _ = tx.Query(ctx, `SELECT id FROM events WHERE id = ANY($1) ORDER BY id FOR SHARE`, found)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, 0, err
	}
	rows, _ = tx.Query(ctx, `SELECT e.id, e.event, e.project_id, e.user_id, e.data, e.created_at, e.trace_parent,
		       d.first_message_id,
		       coalesce(d.pending, false) OR EXISTS (SELECT 1 FROM fan_outs f WHERE f.event_id = e.id
		           AND (f.webhook_id IS NULL AND f.after_webhook_id < $1 OR f.webhook_id = $1)),
		       coalesce(d.succeeded, false),
		       e.erased_at IS NOT NULL,
		       e.created_at < coalesce((SELECT cleared_before FROM payloads_cleared WHERE table_name = 'events'), '-infinity')
		FROM events e
		LEFT JOIN LATERAL (
		    SELECT (array_agg(message_id ORDER BY id))[1] AS first_message_id,
		           bool_or(state = 'pending') AS pending, bool_or(state = 'succeeded') AS succeeded
		    FROM deliveries WHERE event_id = e.id AND webhook_id = $1) d ON true
		WHERE e.id = ANY($2)
		ORDER BY e.created_at, e.id`,
		r.WebhookID, ids)
	candidates, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (hookd.ReplayCandidate, error) {
		var (
			c         hookd.ReplayCandidate
			e         hookd.Event
			data      []byte
			messageID *string
		)
		err := row.Scan(&e.ID, &e.Event, &e.ProjectID, &e.UserID, &data, &e.CreatedAt, &e.TraceParent,
			&messageID, &c.Pending, &c.Succeeded, &c.Erased, &c.PayloadCleared)
		e.Data = data
		c.Event = &e
		if messageID != nil {
			c.MessageID = *messageID
		}
		return c, err
	})
	return candidates, len(found), err
}

// RequeueFailed makes every webhook's deliveries that failed for good, with
// a last attempt in [from, to), due again now, as Requeue does.
func (s *Store) RequeueFailed(ctx context.Context, from, to time.Time) (int, error) {
	return s.requeue(ctx, 0, from, to)
}
