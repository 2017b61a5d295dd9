package hookd

import (
	"strings"
	"time"
)

// Delivery is one event on its way to one webhook. MessageID is the
// webhook-id header: stable across retries, so receivers can dedupe on it.
type Delivery struct {
	ID        int64
	WebhookID int64
	MessageID string
	Event     Event
	Attempts  int // attempts made before this claim
	CreatedAt time.Time
	// Ordered: it is the head of an ordered lane (Ordering), whose next
	// delivery waits until this one is recorded as finished.
	Ordered bool
}

// Target is what the sender needs to know about a webhook to deliver to it.
type Target struct {
	WebhookID int64
	URL       string
	Method    string
	Headers   []Header
	Secrets   []string // the current signing secret first, then a rotated one still valid
	Disabled  bool
	// SecretsUntil is when Secrets change with no write to the webhook:
	// the end of the rotated secret they hold (SigningSecrets.ChangeAt);
	// zero when they hold none. A target kept in memory (while
	// Claimed.TargetsVersion stays put) is read again from then on.
	SecretsUntil time.Time
}

// Error classes of a failed attempt, as shown in the failed log and metrics.
const (
	ClassTimeout    = "timeout"
	ClassRefused    = "connection_refused"
	ClassReset      = "connection_reset"
	ClassConnection = "connection"
	ClassDNS        = "dns"
	ClassTLS        = "tls"
	ClassStatus     = "status"
	ClassRedirect   = "redirect"
	ClassTooLarge   = "too_large"
	ClassForbidden  = "forbidden_address"
	ClassGone       = "gone"
	ClassInternal   = "internal"
	// ClassInformational is a final 1xx answer (101 Switching Protocols):
	// a receiver that switches protocols never answers the delivery.
	ClassInformational = "informational_response"
)

// AttemptResult is the outcome of one delivery attempt, recorded by
// Store.Complete.
type AttemptResult struct {
	DeliveryID int64
	WebhookID  int64
	// Worker is the worker that Claim leased the delivery to for this
	// attempt. Complete settles the delivery only while that worker still
	// holds its lease; empty settles it whoever holds it.
	Worker         string
	Attempt        int // 1 for the first attempt
	At             time.Time
	Success        bool
	HTTPStatus     int // 0 when no response arrived
	Duration       time.Duration
	ErrorClass     string
	Error          string
	RequestHeaders map[string]string // secrets masked
	ResponseBody   string            // at most MaxLoggedBody bytes
	// NextAttemptAt schedules a retry (parked instead while the webhook is
	// disabled: ParkedUntil); nil ends the delivery (success or final
	// failure).
	NextAttemptAt *time.Time
	// DisableWebhook disables the webhook (the receiver answered 410 Gone).
	DisableWebhook bool
	// Ordered is the attempted Delivery's Ordered.
	Ordered bool
}

// LoggableText is s as the attempts' log and the project registry keep it:
// valid UTF-8 without NUL bytes, each invalid sequence and each NUL
// replaced by U+FFFD. A receiver's response body, the errors it causes and
// a published project title may hold both; PostgreSQL's text takes
// neither, and both stores keep the same text.
func LoggableText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	}
	return s
}

// IsControl reports the characters that names, titles and header values
// cannot carry: those RFC 9110 refuses in a field value (C0 controls but
// tab, and DEL).
func IsControl(r rune) bool { return r != '\t' && (r < 0x20 || r == 0x7f) }

// DeliveryState is where a delivery stands; stores keep it as this text.
type DeliveryState string

// The states of a delivery.
const (
	// StatePending: waiting for an attempt (its first or a retry), or
	// leased to a worker making one.
	StatePending DeliveryState = "pending"
	// StateSucceeded: a receiver accepted it.
	StateSucceeded DeliveryState = "succeeded"
	// StateFailed: it failed for good (no retry left, or none allowed).
	StateFailed DeliveryState = "failed"
)

// DeliveryState is what recording r makes of its delivery: this is the one
// place that reads a result. A success finishes it, a failure with a retry
// scheduled leaves it pending, any other failure fails it for good.
func (r *AttemptResult) DeliveryState() DeliveryState {
	switch {
	case r.Success:
		return StateSucceeded
	case r.NextAttemptAt != nil:
		return StatePending
	default:
		return StateFailed
	}
}

// Unblocks reports whether recording r lets the next delivery of an
// ordered lane go: the dispatcher records such a result at once rather
// than wait for a batch, or the lane would go no faster than its batches.
func (r *AttemptResult) Unblocks() bool {
	return r.Ordered && r.DeliveryState() != StatePending
}

// MaxLoggedBody caps the response body kept in the logs.
const MaxLoggedBody = 20 << 10

// LogEntry is one recorded attempt, as listed in the success and failed logs.
type LogEntry struct {
	ID             int64
	DeliveryID     int64
	WebhookID      int64
	EventID        string
	Event          string
	MessageID      string
	Attempt        int
	Success        bool
	HTTPStatus     int
	Duration       time.Duration
	ErrorClass     string
	Error          string
	RequestHeaders map[string]string
	ResponseBody   string
	CreatedAt      time.Time
	NextAttemptAt  *time.Time // the retry this failure scheduled; nil when final
}
