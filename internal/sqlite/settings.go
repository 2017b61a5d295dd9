package sqlite

import (
	"context"
	"database/sql"

	"github.com/hookd/hookd"
)

// Settings reads the webhook's own settings; a NULL column is the default
// (the zero value).
func (s *Store) Settings(ctx context.Context, webhookID int64) (hookd.WebhookSettings, error) {
	var (
		inFlight  sql.NullInt64
		perSecond sql.NullFloat64
	)
	err := s.r.QueryRowContext(ctx, `SELECT max_in_flight, max_per_second FROM webhooks WHERE id = ?`,
		webhookID).Scan(&inFlight, &perSecond)
	if err != nil {
		return hookd.WebhookSettings{}, mapErr(notFound(err))
	}
	return hookd.WebhookSettings{MaxInFlight: int(inFlight.Int64), MaxPerSecond: perSecond.Float64}, nil
}

// UpdateSettings replaces the webhook's own settings; a default (zero) is
// stored as NULL.
func (s *Store) UpdateSettings(ctx context.Context, webhookID int64, set hookd.WebhookSettings) error {
	res, err := s.w.ExecContext(ctx, `UPDATE webhooks SET max_in_flight = NULLIF(?, 0), max_per_second = NULLIF(?, 0)
		WHERE id = ?`, set.MaxInFlight, set.MaxPerSecond, webhookID)
	if err != nil {
		return mapErr(err)
	}
	return mapErr(affected(res))
}
