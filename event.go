package hookd

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
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

// Normalize fills what a publisher may leave out (the id, the time: now,
// the data) and checks the data, as a store does before it stores the event.
// Invalid UTF-8 in the data becomes U+FFFD, as encoding/json would decode it
// anyway and PostgreSQL stores UTF-8 only.
func (e *Event) Normalize(now time.Time) error {
	if e.ID == "" {
		e.ID = NewEventID()
	}
	e.CreatedAt = Stamp(e.CreatedAt, now)
	if len(e.Data) == 0 {
		e.Data = json.RawMessage(`{}`)
	}
	if !utf8.Valid(e.Data) {
		e.Data = json.RawMessage(strings.ToValidUTF8(string(e.Data), "\uFFFD"))
	}
	if !json.Valid(e.Data) {
		return fmt.Errorf("event %q: data is not valid JSON", e.ID)
	}
	return nil
}

// NormalizeAll normalizes each of events, all stamped with the same now.
func NormalizeAll(events []*Event, now time.Time) error {
	for _, e := range events {
		if err := e.Normalize(now); err != nil {
			return err
		}
	}
	return nil
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
