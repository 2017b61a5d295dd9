package postgres

import (
	"context"

	"github.com/hookd/hookd"
)

// QueueStats reads the queue figures of every webhook in one statement: a
// scan of the pending deliveries (split as ListWebhooks splits a webhook's
// figures) and one of the webhooks (by state, and their circuits).
func (s *Store) QueueStats(ctx context.Context) (hookd.QueueStats, error) {
	var q hookd.QueueStats
	err := s.pool.QueryRow(ctx, `SELECT d.queued, d.retrying, w.enabled, w.disabled, w.open_circuits
		FROM (SELECT count(*) FILTER (WHERE attempts = 0 OR leased_by IS NOT NULL) AS queued,
		             count(*) FILTER (WHERE attempts > 0 AND leased_by IS NULL) AS retrying
		      FROM deliveries WHERE state = 'pending') d,
		     (SELECT count(*) FILTER (WHERE NOT disabled) AS enabled,
		             count(*) FILTER (WHERE disabled) AS disabled,
		             count(*) FILTER (WHERE circuit_state <> 'closed') AS open_circuits
		      FROM webhooks) w`).
		Scan(&q.Queued, &q.Retrying, &q.EnabledWebhooks, &q.DisabledWebhooks, &q.OpenCircuits)
	return q, wrapErr(err)
}
