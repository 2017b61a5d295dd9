package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hookd/hookd"
)

// Settings reads the webhook's own settings; a NULL column is the default
// (the zero value).
func (s *Store) Settings(ctx context.Context, webhookID int64) (hookd.WebhookSettings, error) {
	var (
		inFlight  *int
		perSecond *float64
		filter    *string
		ordering  *string
	)
	err := s.pool.QueryRow(ctx, `SELECT max_in_flight, max_per_second, filter, ordering FROM webhooks WHERE id = $1`,
		webhookID).Scan(&inFlight, &perSecond, &filter, &ordering)
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
	if ordering != nil {
		set.Ordering = hookd.Ordering(*ordering)
	}
	return set, nil
}

// UpdateSettings changes the settings u gives, in one statement (which
// sees a concurrent update's columns once it has the row); a default
// (zero) is stored as NULL. A webhook left unordered has its blocked
// deliveries released (hookd.Ordering), and the claims of every process
// are woken up.
func (s *Store) UpdateSettings(ctx context.Context, webhookID int64, u hookd.SettingsUpdate) error {
	set := u.Values()
	b := &pgx.Batch{}
	b.Queue(`UPDATE webhooks SET
		max_in_flight = CASE WHEN $1 THEN NULLIF($2::integer, 0) ELSE max_in_flight END,
		max_per_second = CASE WHEN $3 THEN NULLIF($4::double precision, 0) ELSE max_per_second END,
		filter = CASE WHEN $5 THEN NULLIF($6::text, '') ELSE filter END,
		ordering = CASE WHEN $7 THEN NULLIF($8::text, '') ELSE ordering END
		WHERE id = $9`,
		u.MaxInFlight != nil, set.MaxInFlight, u.MaxPerSecond != nil, set.MaxPerSecond,
		u.Filter != nil, set.Filter, u.Ordering != nil, string(set.Ordering), webhookID).
		Exec(func(tag pgconn.CommandTag) error {
			if tag.RowsAffected() == 0 {
				return fmt.Errorf("webhook %d: %w", webhookID, hookd.ErrNotFound)
			}
			return nil
		})
	if u.Unorders() {
		b.Queue(releaseLanesSQL, webhookID, ms(s.clock.Now()), hookd.LaneBlocked, hookd.ParkedUntil)
		b.Queue(`SELECT pg_notify('` + NotifyChannel + `', '')`)
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return tx.SendBatch(ctx, b).Close() })
	if err != nil {
		return wrapErr(err)
	}
	if u.Unorders() {
		s.wakeup()
	}
	return nil
}
