package hookd

import (
	"encoding/json"
	"time"
)

// Event is something that happened on the media platform, as published to
// hookd. ID is the publisher's idempotency key when given: an event with an
// ID already stored is accepted once and answered with the original.
type Event struct {
	ID        string
	Event     string
	ProjectID *string
	UserID    *int64
	Data      json.RawMessage // a JSON object
	CreatedAt time.Time
	// TraceParent is the W3C traceparent of the span that accepted the
	// event, when tracing is on, so that its delivery attempts join that
	// trace across the queue; empty otherwise. Stores keep it with the event.
	TraceParent string
}

// Published is the outcome of publishing one event.
type Published struct {
	Event      Event
	Deliveries int  // deliveries the event created (or had created, for a repeat)
	Duplicate  bool // the ID was already stored; Event is the original
}

// Events that keep the project registry current.
const (
	EventProjectAdded  = "PROJECT_ADDED"
	EventProjectPurged = "PROJECT_PURGED"
)
