package postgres

import (
	"context"
	"fmt"

	"github.com/hookd/hookd"
)

// Settings reads the webhook's own settings; a NULL column is the default
// (the zero value).
func (s *Store) Settings(ctx context.Context, webhookID int64) (hookd.WebhookSettings, error) {
	var (
		inFlight  *int
		perSecond *float64
		filter    *string
	)
	err := s.pool.QueryRow(ctx, `SELECT max_in_flight, max_per_second, filter FROM webhooks WHERE id = $1`,
		webhookID).Scan(&inFlight, &perSecond, &filter)
	if err != nil {
		return hookd.WebhookSettings{}, fmt.Errorf("webhook %d: %w", webhookID, wrapErr(err))
	}
	var set hookd.WebhookSettings
	if inFlight != nil {
		set.MaxInFlight = *inFlight
	}
	if perSecond != nil {
		set.MaxPerSecond = *perSecond
	}
	if filter != nil {
		set.Filter = *filter
	}
	return set, nil
}

// UpdateSettings replaces the webhook's own settings; a default (zero) is
// stored as NULL.
func (s *Store) UpdateSettings(ctx context.Context, webhookID int64, set hookd.WebhookSettings) error {
	tag, err := s.pool.Exec(ctx, `UPDATE webhooks SET max_in_flight = NULLIF($1::integer, 0),
		max_per_second = NULLIF($2::double precision, 0), filter = NULLIF($3::text, '') WHERE id = $4`,
		set.MaxInFlight, set.MaxPerSecond, set.Filter, webhookID)
	if err != nil {
		return wrapErr(err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("webhook %d: %w", webhookID, hookd.ErrNotFound)
	}
	return nil
}
