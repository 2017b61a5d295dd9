package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/hookd/hookd"
)

// notificationSelect reads subscriptions with their webhook's URL and state;
// a subscription was updated when its row or its webhook last was.
const notificationSelect = `SELECT n.id, n.webhook_id, w.http_url, n.kinds, w.disabled, n.created_at, max(n.updated_at, w.updated_at)
	FROM notifications n JOIN webhooks w ON w.id = n.webhook_id`

// CreateNotification stores n and the webhook that delivers it in one
// transaction.
func (s *Store) CreateNotification(ctx context.Context, n *hookd.Notification, signingSecret string) error {
	if signingSecret == "" {
		signingSecret = hookd.NewSigningSecret()
	}
	kinds, err := json.Marshal(n.Kinds)
	if err != nil {
		return err
	}
	w := hookd.NotificationWebhook(n.URL)
	created, updated := hookd.Stamps(n.CreatedAt, n.UpdatedAt, s.clock.Now())
	var id, webhookID int64
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO webhooks
			(name, http_url, http_method, trigger_events, disabled, signing_secret, created_at, updated_at)
			VALUES (?, ?, ?, '[]', ?, ?, ?, ?) RETURNING id`,
			w.Name, w.HTTPURL, w.HTTPMethod, n.Disabled, signingSecret, ms(created), ms(updated)).Scan(&webhookID)
		if err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `INSERT INTO notifications (webhook_id, kinds, created_at, updated_at)
			VALUES (?, ?, ?, ?) RETURNING id`, webhookID, string(kinds), ms(created), ms(updated)).Scan(&id)
	})
	if err != nil {
		return err
	}
	n.ID, n.WebhookID, n.CreatedAt, n.UpdatedAt = id, webhookID, created, updated
	n.Kinds = slices.Clone(n.Kinds)
	return nil
}

// Notification reads subscription id.
func (s *Store) Notification(ctx context.Context, id int64) (*hookd.Notification, error) {
	ns, err := s.notifications(ctx, ` WHERE n.id = ?`, id)
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
	b, err := json.Marshal(kinds)
	if err != nil {
		return nil, err
	}
	res, err := s.exec(ctx, `UPDATE notifications SET kinds = ?, updated_at = ? WHERE id = ?`,
		string(b), ms(s.clock.Now()), id)
	if err != nil {
		return nil, mapErr(err)
	}
	if err := affected(res); err != nil {
		return nil, mapErr(err)
	}
	return s.Notification(ctx, id)
}

func (s *Store) notifications(ctx context.Context, where string, args ...any) ([]*hookd.Notification, error) {
	rows, err := s.r.QueryContext(ctx, notificationSelect+where, args...)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	out := []*hookd.Notification{}
	for rows.Next() {
		var n hookd.Notification
		var kinds string
		var created, updated int64
		if err := rows.Scan(&n.ID, &n.WebhookID, &n.URL, &kinds, &n.Disabled, &created, &updated); err != nil {
			return nil, mapErr(err)
		}
		if err := json.Unmarshal([]byte(kinds), &n.Kinds); err != nil {
			return nil, fmt.Errorf("notification %d: kinds: %w", n.ID, err)
		}
		n.CreatedAt, n.UpdatedAt = fromMS(created), fromMS(updated)
		out = append(out, &n)
	}
	return out, mapErr(rows.Err())
}
