package hookd

import "time"

// DeliveryRecord is one delivery of a webhook as the logs by delivery show
// it: what it carries, where it stands, and its attempts in order.
type DeliveryRecord struct {
	ID            int64
	WebhookID     int64
	EventID       string
	Event         string
	MessageID     string // the webhook-id header
	State         DeliveryState
	Attempts      int
	NextAttemptAt *time.Time // the retry it waits for; nil once finished
	LastAttemptAt *time.Time
	CreatedAt     time.Time
	// Log is its attempts that the log still holds (Prune removes old
	// ones), oldest first.
	Log []*LogEntry
}

// DeliveryStates are the states a delivery log can be filtered by.
var DeliveryStates = []DeliveryState{StateSucceeded, StateFailed, StatePending}
