package api

import "encoding/json"

// Delivery is one delivery of an event to a webhook, as the logs by
// delivery show it: its attempts in order and where it stands.
type Delivery struct {
	ID        int64  `json:"id"`
	WebhookID int64  `json:"webhook_id"`
	EventID   string `json:"event_id"`
	Event     string `json:"event"`
	MessageID string `json:"message_id"` // the webhook-id header, the same on every attempt
	// State is pending (waiting for a retry, or an attempt is out),
	// succeeded or failed (for good).
	State         string     `json:"state"`
	AttemptCount  int        `json:"attempt_count"`
	NextAttemptAt *Time      `json:"next_attempt_at"` // the retry it waits for; null otherwise
	LastAttemptAt *Time      `json:"last_attempt_at"`
	CreatedAt     Time       `json:"created_at"`
	Attempts      []LogEntry `json:"attempts"` // oldest first; pruned ones are gone
}

// DeliveriesResponse is the answer of GET .../webhooks/:id/deliveries.
type DeliveriesResponse struct {
	Deliveries []Delivery `json:"deliveries"`
}

// DeliveryResponse is the answer of GET .../deliveries/:delivery_id: the
// delivery, the body it sends (the event's payload) and a curl command
// that sends the same request, with a placeholder for the signature and
// hidden header values masked.
type DeliveryResponse struct {
	Delivery Delivery        `json:"delivery"`
	Payload  json.RawMessage `json:"payload"`
	Curl     string          `json:"curl"`
}
