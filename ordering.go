package hookd

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"regexp"
	"strings"
	"time"
)

// Ordered delivery (README: Ordered delivery). A webhook with an Ordering
// has each of its deliveries in a lane, computed from the event when the
// event is accepted (Ordering.Lane) and stored with the delivery. A lane's
// deliveries go out one at a time, in the order they were accepted (their
// ids): only the oldest unfinished delivery of a lane may be attempted, and
// the next one waits until it succeeded or failed for good, through its
// retries, its lease's expiry, a disabled webhook or an open circuit.
//
// The stores keep that rule without the claim looking at lanes, so that
// claims cost the same whether webhooks are ordered or not: a delivery
// that waits for an earlier one of its lane is pending with its
// next_attempt_at at LaneBlocked, never due. Each lane has at most one
// delivery that is not blocked, its head. Whatever may leave a lane with
// pending deliveries and no head (queueing a delivery, which is queued
// blocked; finishing one; requeuing failed ones) then unblocks, in the same
// transaction, the lane's oldest blocked delivery if the lane has no
// delivery left that is not blocked: it becomes due at once. On
// PostgreSQL those transactions hold a lock on the lane while they do it,
// so that they see each other's deliveries. Parking a disabled webhook's
// deliveries leaves blocked ones as they are, and turning ordering off
// unblocks them all (an unordered webhook has no blocked delivery).

// Ordering is how a webhook orders its deliveries: Unordered, OrderWebhook
// (one lane), or one lane per value of the event's OrderProject,
// OrderUser, OrderEvent or a field of its data ("data.<field>", see
// Validate).
type Ordering string

// The orderings.
const (
	Unordered    Ordering = ""
	OrderWebhook Ordering = "webhook"
	OrderProject Ordering = "project_id"
	OrderUser    Ordering = "user_id"
	OrderEvent   Ordering = "event"
	// OrderDataPrefix starts an ordering by a field of the event's data:
	// "data.order_id", or a nested one, "data.order.id".
	OrderDataPrefix = "data."
)

// Bounds of a data field's path, so that a lane is cheap to compute at
// intake.
const (
	MaxOrderingLength   = 200
	MaxOrderingSegments = 8
)

// LaneBlocked is the next_attempt_at of a delivery that waits for an
// earlier one of its lane: one millisecond before ParkedUntil, so that
// parking and unparking tell the two apart.
var LaneBlocked = ParkedUntil.Add(-time.Millisecond)

// dataFieldName is one name of a data field's path.
var dataFieldName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// OrderingRule describes the valid orderings, for errors.
var OrderingRule = fmt.Sprintf(`Must be one of "webhook", "project_id", "user_id", "event", "data.<field>" `+
	`(names of letters, digits, _ and -, up to %d of them joined by dots, at most %d characters in all), or null for no ordering`,
	MaxOrderingSegments, MaxOrderingLength)

// Validate reports whether o is an ordering hookd knows.
func (o Ordering) Validate() error {
	switch o {
	case Unordered, OrderWebhook, OrderProject, OrderUser, OrderEvent:
		return nil
	}
	path, isData := strings.CutPrefix(string(o), OrderDataPrefix)
	if !isData || len(o) > MaxOrderingLength {
		return ErrInvalidSettings
	}
	names := strings.Split(path, ".")
	if len(names) > MaxOrderingSegments {
		return ErrInvalidSettings
	}
	for _, n := range names {
		if !dataFieldName.MatchString(n) {
			return ErrInvalidSettings
		}
	}
	return nil
}

// Lane returns the lane of e's delivery to a webhook ordered by o, and
// false when o is Unordered. A lane is a 64-bit hash of o and the key's
// value: two keys that share a hash share a lane, which only orders more.
// An event without the key (no project, no user, no such field, or null)
// is in the lane of the empty key; a string is its text, any other JSON
// value its compact JSON (so 42 and "42" share a lane).
func (o Ordering) Lane(e *Event) (int64, bool) {
	if o == Unordered {
		return 0, false
	}
	var key string
	switch o {
	case OrderWebhook:
	case OrderProject:
		if e.ProjectID != nil {
			key = *e.ProjectID
		}
	case OrderUser:
		if e.UserID != nil {
			key = fmt.Sprint(*e.UserID)
		}
	case OrderEvent:
		key = e.Event
	default:
		key = dataKey(e.Data, strings.Split(strings.TrimPrefix(string(o), OrderDataPrefix), "."))
	}
	h := fnv.New64a()
	h.Write([]byte(o))
	h.Write([]byte{0})
	h.Write([]byte(key))
	return int64(h.Sum64()), true
}

// dataKey is the value at path in data as Lane keys it; "" when absent.
func dataKey(data json.RawMessage, path []string) string {
	v := data
	for _, name := range path {
		var obj map[string]json.RawMessage
		if json.Unmarshal(v, &obj) != nil {
			return ""
		}
		if v = obj[name]; v == nil {
			return ""
		}
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	var b bytes.Buffer
	if json.Compact(&b, v) != nil || b.String() == "null" {
		return ""
	}
	return b.String()
}

// Lane returns the lane of e's delivery to webhookID, a webhook that Match
// returned for e (Ordering.Lane); false when the webhook is not ordered.
func (s *Subscriptions) Lane(webhookID int64, e *Event) (int64, bool) {
	return s.ordering[webhookID].Lane(e)
}
