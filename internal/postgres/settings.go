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
	)
	err := s.pool.QueryRow(ctx, `SELECT max_in_flight, max_per_second FROM webhooks WHERE id = $1`,
		webhookID).Scan(&inFlight, &perSecond)
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
	return set, nil
}

// UpdateSettings replaces the webhook's own settings; a default (zero) is
// stored as NULL.
func (s *Store) UpdateSettings(ctx context.Context, webhookID int64, set hookd.WebhookSettings) error {
	tag, err := s.pool.Exec(ctx, `UPDATE webhooks SET max_in_flight = NULLIF($1::integer, 0),
		max_per_second = NULLIF($2::double precision, 0) WHERE id = $3`,
		set.MaxInFlight, set.MaxPerSecond, webhookID)
	if err != nil {
		return wrapErr(err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("webhook %d: %w", webhookID, hookd.ErrNotFound)
	}
	return nil
}
