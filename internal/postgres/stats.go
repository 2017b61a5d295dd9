package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd"
)

// QueueStats reads the queue figures of every webhook in one statement: a
// scan of the pending deliveries (split as ListWebhooks splits a webhook's
// figures) and one of the webhooks (by state, circuit, failing streak and
// throttle; only the webhooks whose throttle is closed now look for a due
// delivery).
func (s *Store) QueueStats(ctx context.Context) (hookd.QueueStats, error) {
	var q hookd.QueueStats
	err := s.pool.QueryRow(ctx, `SELECT d.queued, d.retrying, w.enabled, w.disabled, w.open_circuits, w.failing, w.throttled
		FROM (SELECT count(*) FILTER (WHERE attempts = 0 OR leased_by IS NOT NULL) AS queued,
		             count(*) FILTER (WHERE attempts > 0 AND leased_by IS NULL) AS retrying
		      FROM deliveries WHERE state = 'pending') d,
		     (SELECT count(*) FILTER (WHERE NOT disabled) AS enabled,
		             count(*) FILTER (WHERE disabled) AS disabled,
		             count(*) FILTER (WHERE circuit_state <> 'closed') AS open_circuits,
		             count(*) FILTER (WHERE NOT disabled AND failing_since IS NOT NULL) AS failing,
		             count(*) FILTER (WHERE NOT disabled AND throttle_next_at > $1 AND EXISTS (
		                 SELECT 1 FROM deliveries x WHERE x.webhook_id = webhooks.id AND x.state = 'pending'
		                 AND x.next_attempt_at <= $1)) AS throttled
		      FROM webhooks) w`, s.clock.Now()).
		Scan(&q.Queued, &q.Retrying, &q.EnabledWebhooks, &q.DisabledWebhooks, &q.OpenCircuits,
			&q.FailingWebhooks, &q.ThrottledWebhooks)
	return q, wrapErr(err)
}

// AttemptCounts counts attempts per minute since since: a range of the
// attempts_log index for one webhook, of attempts_created_success for all.
func (s *Store) AttemptCounts(ctx context.Context, webhookID int64, since time.Time) ([]hookd.AttemptCount, error) {
	const perMinute = `SELECT floor(extract(epoch FROM created_at) / 60)::bigint,
		count(*) FILTER (WHERE success), count(*) FILTER (WHERE NOT success) FROM attempts `
	var rows pgx.Rows
	if webhookID == 0 {
		rows, _ = s.pool.Query(ctx, perMinute+`WHERE created_at >= $1 GROUP BY 1 ORDER BY 1`, since)
	} else {
		rows, _ = s.pool.Query(ctx, perMinute+`WHERE webhook_id = $1 AND success IN (true, false) AND created_at >= $2
			GROUP BY 1 ORDER BY 1`, webhookID, since)
	}
	var out []hookd.AttemptCount
	var minute int64
	var c hookd.AttemptCount
	_, err := pgx.ForEachRow(rows, []any{&minute, &c.Succeeded, &c.Failed}, func() error {
		c.At = time.Unix(minute*60, 0).UTC()
		out = append(out, c)
		return nil
	})
	if err != nil {
		return nil, wrapErr(err)
	}
	if len(out) == 0 && webhookID != 0 {
		return nil, s.checkWebhook(ctx, webhookID)
	}
	return out, nil
}
