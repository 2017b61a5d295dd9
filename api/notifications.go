package api

// Notification is an operator's subscription to hookd's operational
// notifications (/api/v2/admin/notifications): the kinds it wants are
// delivered to URL, signed, retried and logged like webhook deliveries.
type Notification struct {
	ID  int64  `json:"id"`
	URL string `json:"url"`
	// Kinds are among webhook.disabled, circuit.opened, circuit.closed,
	// delivery.failed and replay.finished.
	Kinds []string `json:"kinds"`
	// Disabled notifications wait, as a disabled webhook's deliveries do;
	// hookd disables a subscription whose URL answers 410 or keeps failing.
	Disabled  bool `json:"disabled"`
	CreatedAt Time `json:"created_at"`
	UpdatedAt Time `json:"updated_at"`
}

// NewNotification is the body of POST /api/v2/admin/notifications. Kinds
// absent (nil) subscribes to every kind. The update's body has the same
// keys, all optional, and disabled.
type NewNotification struct {
	URL   string   `json:"url"`
	Kinds []string `json:"kinds,omitempty"`
}

// NotificationResponse is the answer of one notification subscription.
type NotificationResponse struct {
	Notification Notification `json:"notification"`
}

// NotificationsResponse is the answer of GET /api/v2/admin/notifications.
type NotificationsResponse struct {
	Notifications []Notification `json:"notifications"`
}
