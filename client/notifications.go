package client

import (
	"context"
	"fmt"

	"github.com/hookd/hookd/api"
)

// Operational notifications: subscriptions of the operator's URLs to
// hookd's own events (README: Operational notifications).

// Notifications lists the subscriptions, oldest first.
func (c *Client) Notifications(ctx context.Context) ([]api.Notification, error) {
	var out api.NotificationsResponse
	err := c.do(ctx, "GET", "/api/v2/admin/notifications", nil, &out)
	return out.Notifications, err
}

// CreateNotification subscribes n.URL to n.Kinds (nil: every kind).
func (c *Client) CreateNotification(ctx context.Context, n api.NewNotification) (*api.Notification, error) {
	return c.notification(ctx, "POST", "/api/v2/admin/notifications", n)
}

// Notification reads one subscription.
func (c *Client) Notification(ctx context.Context, id int64) (*api.Notification, error) {
	return c.notification(ctx, "GET", fmt.Sprintf("/api/v2/admin/notifications/%d", id), nil)
}

// UpdateNotification changes the keys of update ("url", "kinds",
// "disabled"); the others keep their value.
func (c *Client) UpdateNotification(ctx context.Context, id int64, update map[string]any) (*api.Notification, error) {
	return c.notification(ctx, "POST", fmt.Sprintf("/api/v2/admin/notifications/%d", id), update)
}

// DeleteNotification unsubscribes; the notifications waiting for it go too.
func (c *Client) DeleteNotification(ctx context.Context, id int64) error {
	return c.do(ctx, "DELETE", fmt.Sprintf("/api/v2/admin/notifications/%d", id), nil, &api.OK{})
}

// NotificationSecret returns the secret that signs a subscription's
// notifications ("whsec_...").
func (c *Client) NotificationSecret(ctx context.Context, id int64) (string, error) {
	var out api.SecretResponse
	err := c.do(ctx, "GET", fmt.Sprintf("/api/v2/admin/notifications/%d/secret", id), nil, &out)
	return out.Secret, err
}

// NotificationLog lists a subscription's successful (success) or failed
// attempts, newest first. page below 1 is the first, perPage below 1 is 25.
func (c *Client) NotificationLog(ctx context.Context, id int64, success bool, page, perPage int) ([]api.LogEntry, error) {
	path := fmt.Sprintf("/api/v2/admin/notifications/%d/", id)
	if success {
		var out api.SuccessLogResponse
		err := c.do(ctx, "GET", path+"success?"+pageQuery(page, perPage), nil, &out)
		return out.SuccessLog, err
	}
	var out api.FailedLogResponse
	err := c.do(ctx, "GET", path+"failed?"+pageQuery(page, perPage), nil, &out)
	return out.FailedLog, err
}

func (c *Client) notification(ctx context.Context, method, path string, in any) (*api.Notification, error) {
	var out api.NotificationResponse
	if err := c.do(ctx, method, path, in, &out); err != nil {
		return nil, err
	}
	return &out.Notification, nil
}
