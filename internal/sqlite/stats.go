package sqlite

import (
	"context"
	"database/sql"

	"github.com/hookd/hookd"
)

// QueueStats reads the queue figures of every webhook in one statement: a
// scan of the pending deliveries (split as webhookSelect splits a webhook's
// figures, at the same now) and one of the webhooks (by state, circuit, failing streak and
// throttle; only the webhooks whose throttle is closed now look for a due
// delivery).
func (s *Store) QueueStats(ctx context.Context) (hookd.QueueStats, error) {
	var q hookd.QueueStats
	now := ms(s.clock.Now())
	err := s.r.QueryRowContext(ctx, `SELECT d.queued, d.retrying, w.enabled, w.disabled, w.open_circuits, w.failing, w.throttled
		FROM (SELECT COUNT(*) FILTER (WHERE attempts = 0 OR (leased_by IS NOT NULL AND lease_until > ?1)) AS queued,
		             COUNT(*) FILTER (WHERE attempts > 0 AND (leased_by IS NULL OR lease_until <= ?1)) AS retrying
		      FROM deliveries WHERE state = 'pending') d,
		     (SELECT COUNT(*) FILTER (WHERE NOT disabled) AS enabled,
		             COUNT(*) FILTER (WHERE disabled) AS disabled,
		             COUNT(*) FILTER (WHERE circuit_state <> 'closed') AS open_circuits,
		             COUNT(*) FILTER (WHERE NOT disabled AND failing_since IS NOT NULL) AS failing,
		             COUNT(*) FILTER (WHERE NOT disabled AND EXISTS (
		                 SELECT 1 FROM webhook_claims c WHERE c.webhook_id = webhooks.id AND c.throttle_next_at > ?1)
		                 AND EXISTS (
		                 SELECT 1 FROM deliveries x WHERE x.webhook_id = webhooks.id AND x.state = 'pending'
		                 AND x.next_attempt_at <= ?1)) AS throttled
		      FROM webhooks
		      WHERE NOT EXISTS (SELECT 1 FROM notifications n WHERE n.webhook_id = webhooks.id)) w`, now).
		Scan(&q.Queued, &q.Retrying, &q.EnabledWebhooks, &q.DisabledWebhooks, &q.OpenCircuits,
			&q.FailingWebhooks, &q.ThrottledWebhooks)
	return q, mapErr(err)
}

// AttemptCounts counts the attempts of each range with a statement of its
// own, in one read transaction: each a range of the attempts_log index for
// one webhook (one per outcome), of attempts_created_success for all. (One
// statement grouping by minute made SQLite sort every attempt of the day:
// ten times slower at a million.)
func (s *Store) AttemptCounts(ctx context.Context, webhookID int64, ranges []hookd.TimeRange) ([]hookd.AttemptCount, error) {
	out := make([]hookd.AttemptCount, len(ranges))
	err := s.inReadTx(ctx, func(tx *sql.Tx) error {
		query := `SELECT COUNT(*) FILTER (WHERE success), COUNT(*) FILTER (WHERE NOT success)
			FROM attempts WHERE created_at >= ?2 AND created_at < ?3`
		if webhookID != 0 {
			if err := webhookExists(ctx, tx, webhookID); err != nil {
				return err
			}
			query = `SELECT COUNT(*) FILTER (WHERE success), COUNT(*) FILTER (WHERE NOT success)
				FROM attempts WHERE webhook_id = ?1 AND success IN (0, 1) AND created_at >= ?2 AND created_at < ?3`
		}
		stmt, err := tx.PrepareContext(ctx, query)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for i, r := range ranges {
			if err := stmt.QueryRowContext(ctx, webhookID, ms(r.From), ms(r.To)).Scan(&out[i].Succeeded, &out[i].Failed); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
