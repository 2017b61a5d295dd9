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
// of notifications: of the notifications of one kind about one subject (a
// webhook, a replay), one goes out, and those that follow within Window are
// held back and counted; the first one after the window goes out and says
// how many were held back. Each process debounces its own notifications.
type Debouncer struct {
	Window time.Duration

	mu   sync.Mutex
	last map[debounceKey]*debounced
}

type debounceKey struct {
	kind    string
	subject string
}

type debounced struct {
	sent     time.Time
	heldBack int
}

// Allow reports whether the notification of kind about subject at now goes
// out, and if so how many of the same were held back since the last one
// that went out.
func (d *Debouncer) Allow(kind, subject string, now time.Time) (heldBack int, ok bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.last == nil {
		d.last = make(map[debounceKey]*debounced)
	}
	k := debounceKey{kind, subject}
	if s, found := d.last[k]; found && now.Sub(s.sent) < d.Window {
		s.heldBack++
		return 0, false
	}
	var held int
	if s := d.last[k]; s != nil {
		held = s.heldBack
	}
	d.last[k] = &debounced{sent: now}
	// Forget what is past its window, so the map stays as small as the
	// incidents of one window.
	for key, s := range d.last {
		if now.Sub(s.sent) >= d.Window && s.heldBack == 0 {
			delete(d.last, key)
		}
	}
	return held, true
}
