package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/hookd/hookd"
)

// QueueStats reads the queue figures of every webhook in one statement: a
// scan of the pending deliveries (split as webhookSelect splits a webhook's
// figures) and one of the webhooks (by state, circuit, failing streak and
// throttle; only the webhooks whose throttle is closed now look for a due
// delivery).
func (s *Store) QueueStats(ctx context.Context) (hookd.QueueStats, error) {
	var q hookd.QueueStats
	now := ms(s.clock.Now())
	err := s.r.QueryRowContext(ctx, `SELECT d.queued, d.retrying, w.enabled, w.disabled, w.open_circuits, w.failing, w.throttled
		FROM (SELECT COUNT(*) FILTER (WHERE attempts = 0 OR leased_by IS NOT NULL) AS queued,
		             COUNT(*) FILTER (WHERE attempts > 0 AND leased_by IS NULL) AS retrying
		      FROM deliveries WHERE state = 'pending') d,
		     (SELECT COUNT(*) FILTER (WHERE NOT disabled) AS enabled,
		             COUNT(*) FILTER (WHERE disabled) AS disabled,
		             COUNT(*) FILTER (WHERE circuit_state <> 'closed') AS open_circuits,
		             COUNT(*) FILTER (WHERE NOT disabled AND failing_since IS NOT NULL) AS failing,
		             COUNT(*) FILTER (WHERE NOT disabled AND throttle_next_at > ?1 AND EXISTS (
		                 SELECT 1 FROM deliveries x WHERE x.webhook_id = webhooks.id AND x.state = 'pending'
		                 AND x.next_attempt_at <= ?1)) AS throttled
		      FROM webhooks) w`, now).
		Scan(&q.Queued, &q.Retrying, &q.EnabledWebhooks, &q.DisabledWebhooks, &q.OpenCircuits,
			&q.FailingWebhooks, &q.ThrottledWebhooks)
	return q, mapErr(err)
}

// AttemptCounts counts attempts per minute since since: a range of the
// attempts_log index for one webhook (one per outcome), of
// attempts_created_success for all.
func (s *Store) AttemptCounts(ctx context.Context, webhookID int64, since time.Time) ([]hookd.AttemptCount, error) {
	var out []hookd.AttemptCount
	err := s.inReadTx(ctx, func(tx *sql.Tx) error {
		query := `SELECT created_at / 60000, COUNT(*) FILTER (WHERE success), COUNT(*) FILTER (WHERE NOT success)
			FROM attempts WHERE created_at >= ? GROUP BY 1 ORDER BY 1`
		args := []any{ms(since)}
		if webhookID != 0 {
			if err := webhookExists(ctx, tx, webhookID); err != nil {
				return err
			}
			query = `SELECT created_at / 60000, COUNT(*) FILTER (WHERE success), COUNT(*) FILTER (WHERE NOT success)
				FROM attempts WHERE webhook_id = ? AND success IN (0, 1) AND created_at >= ? GROUP BY 1 ORDER BY 1`
			args = []any{webhookID, ms(since)}
		}
		rows, err := tx.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				minute int64
				c      hookd.AttemptCount
			)
			if err := rows.Scan(&minute, &c.Succeeded, &c.Failed); err != nil {
				return err
			}
			c.At = fromMS(minute * 60000)
			out = append(out, c)
		}
		return rows.Err()
	})
	return out, err
}
