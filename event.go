package hookd

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxBatchBytes is the largest request body the intake takes, a batch of
// events': no event's data is larger.
const MaxBatchBytes = 16 << 20

// Event is something that happened on the media platform, as published to
// hookd. ID is the publisher's idempotency key when given: see Republish.
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
	// PublisherKeyID is the id of the API key that published the event
	// (for the test action, the admin's key that asked for it): the scope
	// of its ID as an idempotency key. 0 is no key: events published
	// through a Store directly, and those stored before keys were recorded.
	PublisherKeyID int64
}

// Normalize fills what a publisher may leave out (the id, the time: now,
// the data) and checks the id, the project and the data, as a store does
// before it stores the event: the rules the intake answers
// (eventrules.go), so that an event published through a Store directly
// (the outbox's relay, tools) is one the API could have taken: its data an
// object, nested at most MaxDataDepth deep. Invalid UTF-8 in the data
// becomes U+FFFD, as encoding/json would decode it anyway and PostgreSQL
// stores UTF-8 only; in the id it is refused, since made valid two
// different ids could become one.
func (e *Event) Normalize(now time.Time) error {
	if e.ID == "" {
		e.ID = NewEventID()
	}
	if !utf8.ValidString(e.ID) {
		return fmt.Errorf("event %.40q: id is not valid UTF-8", e.ID)
	}
	if !ValidText(e.ID, MaxEventIDLength) {
		// The id is not echoed whole: it may be megabytes long.
		return fmt.Errorf("event %.40q: id must be 1 to %d characters, without control characters", e.ID, MaxEventIDLength)
	}
	if !PathSafeEventID(e.ID) {
		return fmt.Errorf("event %q: %s", e.ID, RulePathSafeEventID)
	}
	if e.ProjectID != nil && !ValidProjectID(*e.ProjectID) {
		return fmt.Errorf("event %q: project_id %.70q: must be %s", e.ID, *e.ProjectID, ProjectIDForm)
	}
	e.CreatedAt = Stamp(e.CreatedAt, now)
	if len(e.Data) == 0 {
		e.Data = json.RawMessage(`{}`)
	}
	if !utf8.Valid(e.Data) {
		e.Data = json.RawMessage(strings.ToValidUTF8(string(e.Data), "\uFFFD"))
	}
	switch {
	case DataTooDeep(e.Data):
		return fmt.Errorf("event %q: data is nested deeper than %d levels", e.ID, MaxDataDepth)
	case !json.Valid(e.Data):
		return fmt.Errorf("event %q: data is not valid JSON", e.ID)
	case !IsJSONObject(e.Data):
		return fmt.Errorf("event %q: %w", e.ID, ErrDataNotObject)
	}
	return nil
}

// PathSafeEventID reports whether id can stand as a segment of a URL's
// path, as the admin API's /events/{id}/erase takes it: "." and ".." cannot
// (browsers and proxies fold them away), so such an event could not be
// erased from the UI. RulePathSafeEventID says so to a publisher.
func PathSafeEventID(id string) bool { return id != "." && id != ".." }

// RulePathSafeEventID is the rule PathSafeEventID checks, in words.
const RulePathSafeEventID = `Must not be "." or "..", which a URL's path cannot carry`

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

// Republish is the rule for an event e whose ID is already the ID of
// stored, an event stored before it or earlier in the same batch. Event ids
// are unique across hookd, as deliveries refer to events by id, but an id is
// an idempotency key of the API key that published it:
//
//   - from the same key (PublisherKeyID), e is a repeat: it is answered with
//     stored and its deliveries, as Duplicate, and stores nothing;
//   - from another key, e is refused with an *EventIDTakenError (an
//     ErrConflict), which tells nothing of stored, so a publisher never
//     sees another's events; its batch is refused whole.
//
// Keys, not their users, are the scope: hookd has no user accounts (every
// key belongs to DefaultUserID), so each key stands for one publisher. An
// event stored without a key (0) is repeated only without a key.
// index is e's place in its batch.
func Republish(e *Event, index int, stored Event, deliveries int) (Published, error) {
	if e.PublisherKeyID != stored.PublisherKeyID {
		return Published{}, &EventIDTakenError{Index: index, ID: e.ID}
	}
	return Published{Event: stored, Deliveries: deliveries, Duplicate: true}, nil
}

// EventIDTakenError refuses the event at Index of a batch: its ID is that of
// an event another API key published (Republish).
type EventIDTakenError struct {
	Index int
	ID    string
}

func (e *EventIDTakenError) Error() string {
	return fmt.Sprintf("event %q: the id is taken by an event another API key published", e.ID)
}

// Is makes the error an ErrConflict.
func (e *EventIDTakenError) Is(target error) bool { return target == ErrConflict }

// Events that keep the project registry current.
const (
	EventProjectAdded  = "PROJECT_ADDED"
	EventProjectPurged = "PROJECT_PURGED"
)
