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
		filter    sql.NullString
	)
	err := s.r.QueryRowContext(ctx, `SELECT max_in_flight, max_per_second, filter FROM webhooks WHERE id = ?`,
		webhookID).Scan(&inFlight, &perSecond, &filter)
	if err != nil {
		return hookd.WebhookSettings{}, mapErr(notFound(err))
	}
	return hookd.WebhookSettings{MaxInFlight: int(inFlight.Int64), MaxPerSecond: perSecond.Float64, Filter: filter.String}, nil
}

// UpdateSettings replaces the webhook's own settings; a default (zero) is
// stored as NULL.
func (s *Store) UpdateSettings(ctx context.Context, webhookID int64, set hookd.WebhookSettings) error {
	res, err := s.w.ExecContext(ctx, `UPDATE webhooks SET max_in_flight = NULLIF(?, 0), max_per_second = NULLIF(?, 0),
		filter = NULLIF(?, '') WHERE id = ?`, set.MaxInFlight, set.MaxPerSecond, set.Filter, webhookID)
	if err != nil {
		return mapErr(err)
	}
	return mapErr(affected(res))
}
