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

// UpdateSettings changes the settings u gives, in one statement; a
// default (zero) is stored as NULL. A webhook left unordered has its
// blocked deliveries released (hookd.Ordering).
func (s *Store) UpdateSettings(ctx context.Context, webhookID int64, u hookd.SettingsUpdate) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE webhooks SET
			max_in_flight = CASE WHEN ?1 THEN NULLIF(?2, 0) ELSE max_in_flight END,
			max_per_second = CASE WHEN ?3 THEN NULLIF(?4, 0) ELSE max_per_second END,
			filter = CASE WHEN ?5 THEN NULLIF(?6, '') ELSE filter END,
			ordering = CASE WHEN ?7 THEN NULLIF(?8, '') ELSE ordering END
			WHERE id = ?9`, settingsArgs(u, webhookID)...)
		if err != nil {
			return err
		}
		if err := affected(res); err != nil {
			return err
		}
		if u.Unorders() {
			return releaseLanes(ctx, tx, webhookID, s.clock.Now())
		}
		return nil
	})
	if err == nil && u.Unorders() {
		s.notify() // released deliveries may be due
	}
	return err
}

// settingsArgs are the arguments of UpdateSettings's statement: whether
// each setting changes and its value, then the webhook's id.
func settingsArgs(u hookd.SettingsUpdate, webhookID int64) []any {
	set := u.Values()
	return []any{u.MaxInFlight != nil, set.MaxInFlight, u.MaxPerSecond != nil, set.MaxPerSecond,
		u.Filter != nil, set.Filter, u.Ordering != nil, string(set.Ordering), webhookID}
}
