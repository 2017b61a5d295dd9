package postgres

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd"
)

// notificationSelect reads subscriptions with their webhook's URL and state;
// a subscription was updated when its row or its webhook last was.
const notificationSelect = `SELECT n.id, n.webhook_id, w.http_url, n.kinds, w.disabled, n.created_at, greatest(n.updated_at, w.updated_at)
	FROM notifications n JOIN webhooks w ON w.id = n.webhook_id`

// CreateNotification stores n and the webhook that delivers it in one
// transaction.
func (s *Store) CreateNotification(ctx context.Context, n *hookd.Notification, signingSecret string) error {
	if signingSecret == "" {
		signingSecret = hookd.NewSigningSecret()
	}
	w := hookd.NotificationWebhook(n.URL)
	created, updated := hookd.Stamps(n.CreatedAt, n.UpdatedAt, s.clock.Now())
	var id, webhookID int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `
			INSERT INTO webhooks (name, http_url, http_method, trigger_events, disabled, created_at, updated_at, signing_secret)
			VALUES ($1, $2, $3, '{}', $4, $5, $6, $7) RETURNING id`,
			w.Name, w.HTTPURL, w.HTTPMethod, n.Disabled, created, updated, signingSecret).Scan(&webhookID); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `INSERT INTO notifications (webhook_id, kinds, created_at, updated_at)
			VALUES ($1, $2, $3, $4) RETURNING id`, webhookID, n.Kinds, created, updated).Scan(&id)
	})
	if err != nil {
		return wrapErr(err)
	}
	n.ID, n.WebhookID, n.CreatedAt, n.UpdatedAt = id, webhookID, created, updated
	n.Kinds = slices.Clone(n.Kinds)
	return nil
}

// Notification reads subscription id.
func (s *Store) Notification(ctx context.Context, id int64) (*hookd.Notification, error) {
	ns, err := s.notifications(ctx, ` WHERE n.id = $1`, id)
	if err != nil {
		return nil, err
	}
	if len(ns) == 0 {
		return nil, fmt.Errorf("notification %d: %w", id, hookd.ErrNotFound)
	}
	return ns[0], nil
}

// ListNotifications reads every subscription, oldest first.
func (s *Store) ListNotifications(ctx context.Context) ([]*hookd.Notification, error) {
	return s.notifications(ctx, ` ORDER BY n.id`)
}

// SetNotificationKinds replaces the kinds of subscription id.
func (s *Store) SetNotificationKinds(ctx context.Context, id int64, kinds []string) (*hookd.Notification, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE notifications SET kinds = $1, updated_at = $2 WHERE id = $3`, kinds, s.clock.Now(), id)
	if err != nil {
		return nil, wrapErr(err)
	}
	if tag.RowsAffected() == 0 {
		return nil, fmt.Errorf("notification %d: %w", id, hookd.ErrNotFound)
	}
	return s.Notification(ctx, id)
}

func (s *Store) notifications(ctx context.Context, where string, args ...any) ([]*hookd.Notification, error) {
	rows, _ := s.pool.Query(ctx, notificationSelect+where, args...)
	out := []*hookd.Notification{}
	var n hookd.Notification
	_, err := pgx.ForEachRow(rows, []any{&n.ID, &n.WebhookID, &n.URL, &n.Kinds, &n.Disabled, &n.CreatedAt, &n.UpdatedAt}, func() error {
		c := n
		out = append(out, &c)
		n.Kinds = nil
		return nil
	})
	if err != nil {
		return nil, wrapErr(err)
	}
	return out, nil
}
