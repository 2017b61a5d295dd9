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
		ordering  sql.NullString
	)
	err := s.r.QueryRowContext(ctx, `SELECT max_in_flight, max_per_second, filter, ordering FROM webhooks WHERE id = ?`,
		webhookID).Scan(&inFlight, &perSecond, &filter, &ordering)
	if err != nil {
		return hookd.WebhookSettings{}, mapErr(notFound(err))
	}
	return hookd.WebhookSettings{MaxInFlight: int(inFlight.Int64), MaxPerSecond: perSecond.Float64,
		Filter: filter.String, Ordering: hookd.Ordering(ordering.String)}, nil
}

// UpdateSettings replaces the webhook's own settings; a default (zero) is
// stored as NULL. A webhook left unordered has its blocked deliveries
// released (hookd.Ordering).
func (s *Store) UpdateSettings(ctx context.Context, webhookID int64, set hookd.WebhookSettings) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE webhooks SET max_in_flight = NULLIF(?, 0), max_per_second = NULLIF(?, 0),
			filter = NULLIF(?, ''), ordering = NULLIF(?, '') WHERE id = ?`,
			set.MaxInFlight, set.MaxPerSecond, set.Filter, string(set.Ordering), webhookID)
		if err != nil {
			return err
		}
		if err := affected(res); err != nil {
			return err
		}
		if set.Ordering == hookd.Unordered {
			return releaseLanes(ctx, tx, webhookID, s.clock.Now())
		}
		return nil
	})
	if err == nil && set.Ordering == hookd.Unordered {
		s.notify() // released deliveries may be due
	}
	return err
}
