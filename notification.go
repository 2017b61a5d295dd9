package hookd

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Operational notifications tell an operator about hookd itself (a webhook
// disabled, a circuit opened, a delivery failed for good, a replay
// finished). An operator subscribes URLs of their own to them; they are not
// trigger events of customers' webhooks (DESIGN.md §7).
//
// Each subscription is delivered through the engine that delivers
// webhooks: it owns a webhook row (Notification.WebhookID) with no trigger
// events, so no published event matches it, that the API does not list
// among the webhooks. A notification is an event stored for that webhook
// alone (Store.PublishTo), so it is signed, retried and logged as any
// delivery is.

// The kinds of operational notifications, the event names of their
// deliveries.
const (
	NotifyWebhookDisabled = "webhook.disabled"
	NotifyCircuitOpened   = "circuit.opened"
	NotifyCircuitClosed   = "circuit.closed"
	NotifyDeliveryFailed  = "delivery.failed"
	NotifyReplayFinished  = "replay.finished"
)

// NotificationKinds are every kind, in the order the API documents them.
var NotificationKinds = []string{
	NotifyWebhookDisabled, NotifyCircuitOpened, NotifyCircuitClosed, NotifyDeliveryFailed, NotifyReplayFinished,
}

// IsNotificationKind reports whether kind is one of NotificationKinds.
func IsNotificationKind(kind string) bool { return slices.Contains(NotificationKinds, kind) }

// Notification is an operator's subscription to operational notifications:
// the kinds it wants are delivered to URL, through webhook WebhookID.
type Notification struct {
	ID        int64
	WebhookID int64 // the webhook that delivers it; never listed as a webhook
	URL       string
	Kinds     []string // a subset of NotificationKinds, none repeated, at least one
	Disabled  bool     // the delivering webhook's state: disabled notifications wait
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Wants reports whether n subscribes to kind.
func (n *Notification) Wants(kind string) bool { return slices.Contains(n.Kinds, kind) }

// NotificationWebhook is the webhook row that delivers a new subscription
// to url: POST, no trigger events (no event matches it), no project.
func NotificationWebhook(url string) *Webhook {
	return &Webhook{Name: "hookd operational notifications", HTTPURL: url, HTTPMethod: "POST", TriggerEvents: []string{}}
}

// CheckNotificationKinds returns an error naming the first kind that is not
// one of NotificationKinds or repeats an earlier one, or when there are none.
func CheckNotificationKinds(kinds []string) error {
	if len(kinds) == 0 {
		return fmt.Errorf("at least one kind is needed: %s", strings.Join(NotificationKinds, ", "))
	}
	for i, k := range kinds {
		if !IsNotificationKind(k) {
			return fmt.Errorf("%q is not a kind: %s", k, strings.Join(NotificationKinds, ", "))
		}
		if slices.Contains(kinds[:i], k) {
			return fmt.Errorf("%q is repeated", k)
		}
	}
	return nil
}

// DefaultNotifyDebounce is how long a notification of one kind about one
// subject holds back the next ones (Debouncer).
const DefaultNotifyDebounce = time.Hour

// Debouncer is the rule that keeps a failing webhook from sending thousands
// of notifications, while an operator still learns the latest of each
// incident. Notifications of one family about one subject (a webhook, a
// replay) go out thus: the first at once; those that follow within Window
// of the last that went out are held back and counted; once that window
// is over, the latest held back goes out (Due), saying how many others
// were held back, and opens the next window. A family is a kind, except
// that circuit.opened and circuit.closed are states of one family, the
// circuit: a change of state goes out at once unless the same state went
// out within Window (a circuit that flaps), and a state equal to the last
// that went out, within its window, is only counted (the operator knows
// it; each process tells the changes it sees, so beyond the window another
// may have told another state since). So the last
// notification about a subject tells its latest incident, or its circuit
// as it stands, at most Window late. Each process debounces its own
// notifications; note is what a notification carries.
type Debouncer[T any] struct {
	Window time.Duration

	mu       sync.Mutex
	subjects map[debounceKey]*debounced[T]
}

type debounceKey struct {
	family  string
	subject string
}

type debounced[T any] struct {
	state     string               // the state of the last that went out ("" for a kind without states)
	sentAt    map[string]time.Time // when each state last went out
	held      *T                   // the latest held back, to go out once its window is over; nil for none
	heldState string
	heldBack  int // held back since the last that went out
}

// Held is a notification held back that Due lets out, and how many others
// were held back since the last that went out.
type Held[T any] struct {
	Note     T
	HeldBack int
}

// debounceFamily returns kind's family and the state it tells ("" for a
// kind without states).
func debounceFamily(kind string) (family, state string) {
	if kind == NotifyCircuitOpened || kind == NotifyCircuitClosed {
		return "circuit", kind
	}
	return kind, ""
}

func (s *debounced[T]) windowOver(state string, now time.Time, window time.Duration) bool {
	at, ok := s.sentAt[state]
	return !ok || now.Sub(at) >= window
}

// windowOpen reports whether the window of one that went out is still
// open at now.
func (s *debounced[T]) windowOpen(now time.Time, window time.Duration) bool {
	for _, at := range s.sentAt {
		if now.Sub(at) < window {
			return true
		}
	}
	return false
}

func (s *debounced[T]) sent(state string, now time.Time) {
	s.state, s.sentAt[state], s.held, s.heldBack = state, now, nil, 0
}

// Tell reports whether note, of kind about subject at now, goes out at
// once, and if so how many were held back since the last that went out.
// Otherwise it is held back, and counted.
func (d *Debouncer[T]) Tell(kind, subject string, note T, now time.Time) (heldBack int, ok bool) {
	family, state := debounceFamily(kind)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.subjects == nil {
		d.subjects = make(map[debounceKey]*debounced[T])
	}
	k := debounceKey{family, subject}
	s := d.subjects[k]
	if s == nil {
		s = &debounced[T]{sentAt: map[string]time.Time{}}
		d.subjects[k] = s
	}
	// Known: the operator's last word on it, within its window (beyond
	// it, another process may have told another state since).
	known := state != "" && state == s.state && !s.windowOver(state, now, d.Window)
	if !known && s.windowOver(state, now, d.Window) {
		heldBack = s.heldBack
		s.sent(state, now)
		return heldBack, true
	}
	s.heldBack++
	s.held, s.heldState = nil, ""
	if !known {
		s.held, s.heldState = &note, state
	}
	return 0, false
}

// Due returns the notifications held back whose window is over at now,
// the latest of each subject, and counts them as gone out. It forgets the
// subjects with nothing to let out and no window open, so that what it
// keeps is as small as the incidents of one window.
func (d *Debouncer[T]) Due(now time.Time) []Held[T] {
	d.mu.Lock()
	defer d.mu.Unlock()
	var due []Held[T]
	for k, s := range d.subjects {
		switch {
		case s.held != nil && s.windowOver(s.heldState, now, d.Window):
			due = append(due, Held[T]{Note: *s.held, HeldBack: s.heldBack - 1})
			s.sent(s.heldState, now)
		case s.held == nil && !s.windowOpen(now, d.Window):
			delete(d.subjects, k) // and what it counted: states the operator knew

		}
	}
	return due
}
