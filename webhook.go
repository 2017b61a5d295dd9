package hookd

import (
	"errors"
	"slices"
	"strings"
	"time"
)

// Webhook is an admin's subscription: events named in TriggerEvents, of
// ProjectID (or any project when nil) and by one of Users (or anyone when
// empty), are delivered to HTTPURL with HTTPMethod.
type Webhook struct {
	ID            int64
	Name          string
	HTTPURL       string
	HTTPMethod    string
	TriggerEvents []string
	ProjectID     *string
	Disabled      bool
	CreatedAt     time.Time
	UpdatedAt     time.Time

	Headers []Header
	Users   []WebhookUser
	// Filter is its WebhookSettings.Filter, which the subscriptions' index
	// keeps compiled to match events with.
	Filter string
	// Ordering is its WebhookSettings.Ordering, which the subscriptions'
	// index keeps to give each new delivery its lane.
	Ordering Ordering

	// Live figures, filled when a webhook is read.
	QueueLength      int
	RetryQueueLength int
	LatestRun        *Run
}

// Header is a header sent with every delivery of a webhook. A plain header
// is sent as Key: Value; an IsHMAC header carries the lowercase hex
// HMAC-SHA256 of the body keyed with Value. Hidden and HMAC values are never
// shown after creation.
type Header struct {
	ID        int64
	WebhookID int64
	Key       string
	Value     string
	Hidden    bool
	IsHMAC    bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ReservedHeaders are the names a webhook header may not use, in any case:
// hookd sets them on every delivery (README: The delivery contract), the
// HTTP client sets them, or they are hop-by-hop headers (RFC 9110, 7.6.1),
// which concern one connection rather than the receiver and which Go's
// HTTP/2 client refuses to send (quoting their values in its error). Any
// name starting with ReservedHeaderPrefix is reserved too.
var ReservedHeaders = []string{
	"Content-Type", "Content-Length", "User-Agent", "Host", "Connection", "Transfer-Encoding",
	"Webhook-Id", "Webhook-Timestamp", "Webhook-Signature", "Traceparent", "Tracestate",
	"Upgrade", "TE", "Trailer", "Keep-Alive",
}

// ReservedHeaderPrefix starts the names of the proxy headers (Proxy-Authorization,
// Proxy-Connection, ...), which are meant for a proxy, never for the receiver.
const ReservedHeaderPrefix = "Proxy-"

// IsReservedHeader reports whether name, in any case, is a reserved header.
func IsReservedHeader(name string) bool {
	if len(name) >= len(ReservedHeaderPrefix) && strings.EqualFold(name[:len(ReservedHeaderPrefix)], ReservedHeaderPrefix) {
		return true
	}
	for _, r := range ReservedHeaders {
		if strings.EqualFold(name, r) {
			return true
		}
	}
	return false
}

// Secret reports whether the header's value must not be shown after creation.
func (h Header) Secret() bool { return h.Hidden || h.IsHMAC }

// WebhookUser restricts a webhook to events caused by UserID.
type WebhookUser struct {
	ID        int64
	WebhookID int64
	UserID    int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Run summarises a webhook's latest delivery attempt.
type Run struct {
	At         time.Time
	Success    bool
	HTTPStatus int // 0 when no response arrived
	Duration   time.Duration
	Event      string
}

// WebhookUpdate is a partial update: nil fields keep their value.
// ClearProject sets ProjectID to null.
type WebhookUpdate struct {
	Name          *string
	HTTPURL       *string
	HTTPMethod    *string
	TriggerEvents []string // nil keeps the events
	ProjectID     *string
	ClearProject  bool
	Disabled      *bool
}

// HeaderUpdate is a partial update of a header.
type HeaderUpdate struct {
	Key    *string
	Value  *string
	Hidden *bool
	IsHMAC *bool
}

// The changes of a header that HeaderUpdate.Apply refuses without a new
// value.
var (
	ErrHeaderKindChange  = errors.New("changing is_hmac changes what header_value is (an HMAC key, or a value sent as it is): send a new header_value with it")
	ErrHeaderSecretShown = errors.New("a hidden or HMAC header's value is never shown again: send a new header_value to make it a plain header")
)

// Apply returns h with u's changes. Without a new Value, u may not change
// what the stored value is: an HMAC key never goes out as a plain value,
// nor a value meant to be sent becomes an HMAC key (ErrHeaderKindChange),
// and a hidden or HMAC value, once set, is never shown again, so it cannot
// become plain (ErrHeaderSecretShown). Stores apply u to the header as it
// stands in their transaction: two concurrent updates cannot add up to
// what neither alone may do.
func (u HeaderUpdate) Apply(h Header) (Header, error) {
	after := h
	if u.Key != nil {
		after.Key = *u.Key
	}
	if u.Value != nil {
		after.Value = *u.Value
	}
	if u.Hidden != nil {
		after.Hidden = *u.Hidden
	}
	if u.IsHMAC != nil {
		after.IsHMAC = *u.IsHMAC
	}
	if u.Value == nil {
		switch {
		case after.IsHMAC != h.IsHMAC:
			return h, ErrHeaderKindChange
		case h.Secret() && !after.Secret():
			return h, ErrHeaderSecretShown
		}
	}
	return after, nil
}

// WebhookFilter narrows a webhook listing; its zero value lists every
// webhook by id.
type WebhookFilter struct {
	ProjectID *string
	Disabled  *bool
	// NoProject keeps only the webhooks of no project (any project's
	// events).
	NoProject bool
	// Health, when set, keeps only the webhooks in that health.
	Health WebhookHealth
	// Search, when not empty, keeps the webhooks whose name or URL contains
	// it, ASCII letters in any case, or whose id it is (SearchID).
	Search string
	// Sort orders the list; the zero value is by id.
	Sort WebhookSort
	// Limit, when above 0, keeps at most Limit webhooks, after skipping
	// Offset of them.
	Limit  int
	Offset int64
}

// ProjectToCheck is the project u scopes w to anew, which must be in the
// registry (ErrProjectNotFound); nil when u clears w's project or keeps
// it. A project w keeps needs no check: it may have left the registry
// since (a PROJECT_PURGED), and a client that sends the whole webhook back
// with another change must not be refused for it.
func (u WebhookUpdate) ProjectToCheck(w Webhook) *string {
	if u.ClearProject || u.ProjectID == nil || w.ProjectID != nil && *w.ProjectID == *u.ProjectID {
		return nil
	}
	return u.ProjectID
}

// Apply returns w with the update applied, and whether anything changed.
// TriggerEvents replaces the list; ClearProject wins over ProjectID. The
// caller checks that a new project is registered (ProjectToCheck).
func (u WebhookUpdate) Apply(w Webhook) (Webhook, bool) {
	before := w
	if u.Name != nil {
		w.Name = *u.Name
	}
	if u.HTTPURL != nil {
		w.HTTPURL = *u.HTTPURL
	}
	if u.HTTPMethod != nil {
		w.HTTPMethod = *u.HTTPMethod
	}
	if u.TriggerEvents != nil {
		w.TriggerEvents = slices.Clone(u.TriggerEvents)
	}
	switch {
	case u.ClearProject:
		w.ProjectID = nil
	case u.ProjectID != nil:
		p := *u.ProjectID
		w.ProjectID = &p
	}
	if u.Disabled != nil {
		w.Disabled = *u.Disabled
	}
	changed := w.Name != before.Name || w.HTTPURL != before.HTTPURL || w.HTTPMethod != before.HTTPMethod ||
		!slices.Equal(w.TriggerEvents, before.TriggerEvents) || w.Disabled != before.Disabled ||
		(w.ProjectID == nil) != (before.ProjectID == nil) ||
		(w.ProjectID != nil && *w.ProjectID != *before.ProjectID)
	return w, changed
}
