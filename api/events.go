package api

import "encoding/json"

// Event is an event to publish. ID is the publisher's idempotency key: an
// event whose ID is already stored is accepted once and answered with the
// original (Duplicate). hookd assigns an ID when none is given.
type Event struct {
	ID        string          `json:"id,omitempty"`
	Event     string          `json:"event"` // one of the 123 event names
	ProjectID *string         `json:"project_id,omitempty"`
	UserID    *int64          `json:"user_id,omitempty"`
	Data      json.RawMessage `json:"data,omitempty"` // a JSON object; default {}
}

// Batch is the body that publishes up to 1,000 events in one request.
type Batch struct {
	Events []Event `json:"events"`
}

// PublishedEvent is a stored event and how many deliveries it created.
type PublishedEvent struct {
	ID         string          `json:"id"`
	Event      string          `json:"event"`
	CreatedAt  Time            `json:"created_at"`
	ProjectID  *string         `json:"project_id"`
	UserID     *int64          `json:"user_id"`
	Data       json.RawMessage `json:"data"`
	Deliveries int             `json:"deliveries"`
	Duplicate  bool            `json:"duplicate"` // the ID was already stored: this is the original
}

// The answers of the intake (and of a webhook's test).
type (
	EventResponse struct {
		Event PublishedEvent `json:"event"`
	}
	EventsResponse struct {
		Events []PublishedEvent `json:"events"`
	}
)
