package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd"
)

// QueueStats reads the queue figures of every webhook in one statement: a
// scan of the pending deliveries (split as loadWebhooks splits a webhook's
// figures, at the same now) and one of the webhooks (by state, circuit, failing streak and
// throttle; only the webhooks whose throttle is closed now look for a due
// delivery).
func (s *Store) QueueStats(ctx context.Context) (hookd.QueueStats, error) {
	var q hookd.QueueStats
	err := s.pool.QueryRow(ctx, `SELECT d.queued, d.retrying, w.enabled, w.disabled, w.open_circuits, w.failing, w.throttled
		FROM (SELECT count(*) FILTER (WHERE attempts = 0 OR (leased_by IS NOT NULL AND lease_until > $1)) AS queued,
		             count(*) FILTER (WHERE attempts > 0 AND (leased_by IS NULL OR lease_until <= $1)) AS retrying
		      FROM deliveries WHERE state = 'pending') d,
		     (SELECT count(*) FILTER (WHERE NOT disabled) AS enabled,
		             count(*) FILTER (WHERE disabled) AS disabled,
		             count(*) FILTER (WHERE circuit_state <> 'closed') AS open_circuits,
		             count(*) FILTER (WHERE NOT disabled AND failing_since IS NOT NULL) AS failing,
		             count(*) FILTER (WHERE NOT disabled AND EXISTS (
		                 SELECT 1 FROM webhook_claims c WHERE c.webhook_id = webhooks.id AND c.throttle_next_at > $1)
		                 AND EXISTS (
		                 SELECT 1 FROM deliveries x WHERE x.webhook_id = webhooks.id AND x.state = 'pending'
		                 AND x.next_attempt_at <= $1)) AS throttled
		      FROM webhooks
		      WHERE NOT EXISTS (SELECT 1 FROM notifications n WHERE n.webhook_id = webhooks.id)) w`, s.clock.Now()).
		Scan(&q.Queued, &q.Retrying, &q.EnabledWebhooks, &q.DisabledWebhooks, &q.OpenCircuits,
			&q.FailingWebhooks, &q.ThrottledWebhooks)
	return q, wrapErr(err)
}

// AttemptCounts counts the attempts of each range in one statement: a
// range of the attempts_log index (one webhook) or of
// attempts_created_success (all) per range.
func (s *Store) AttemptCounts(ctx context.Context, webhookID int64, ranges []hookd.TimeRange) ([]hookd.AttemptCount, error) {
	from, to := make([]time.Time, len(ranges)), make([]time.Time, len(ranges))
	for i, r := range ranges {
		from[i], to[i] = ms(r.From), ms(r.To)
	}
	webhook, args := "", []any{from, to}
	if webhookID != 0 {
		webhook, args = "AND webhook_id = $3 AND success IN (true, false)", append(args, webhookID)
	}
	rows, _ := s.pool.Query(ctx, `SELECT c.succeeded, c.failed
		FROM unnest($1::timestamptz[], $2::timestamptz[]) WITH ORDINALITY AS b(lo, hi, i),
		LATERAL (SELECT count(*) FILTER (WHERE success) AS succeeded, count(*) FILTER (WHERE NOT success) AS failed
		         FROM attempts WHERE created_at >= b.lo AND created_at < b.hi `+webhook+`) c
		ORDER BY b.i`, args...)
	out := make([]hookd.AttemptCount, 0, len(ranges))
	var c hookd.AttemptCount
	_, err := pgx.ForEachRow(rows, []any{&c.Succeeded, &c.Failed}, func() error {
		out = append(out, c)
		return nil
	})
	if err != nil {
		return nil, wrapErr(err)
	}
	if webhookID != 0 {
		if err := s.checkWebhook(ctx, webhookID); err != nil {
			return nil, err
		}
	}
	return out, nil
}
