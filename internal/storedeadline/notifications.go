package storedeadline

import (
	"context"

	"github.com/hookd/hookd"
)

func (d *Store) CreateNotification(ctx context.Context, n *hookd.Notification, signingSecret string) error {
	return call(ctx, d.timeout, func(ctx context.Context) error { return d.s.CreateNotification(ctx, n, signingSecret) })
}

func (d *Store) Notification(ctx context.Context, id int64) (*hookd.Notification, error) {
	return call1(ctx, d.timeout, func(ctx context.Context) (*hookd.Notification, error) { return d.s.Notification(ctx, id) })
}

func (d *Store) ListNotifications(ctx context.Context) ([]*hookd.Notification, error) {
	return call1(ctx, d.timeout, d.s.ListNotifications)
}

func (d *Store) SetNotificationKinds(ctx context.Context, id int64, kinds []string) (*hookd.Notification, error) {
	return call1(ctx, d.timeout, func(ctx context.Context) (*hookd.Notification, error) {
		return d.s.SetNotificationKinds(ctx, id, kinds)
	})
}
