// Package notify sends hookd's operational notifications (hookd.Notification)
// to the operators' subscriptions.
//
// The Notifier is told of incidents by the parts of hookd that see them:
// the dispatcher (delivery.Observer: a delivery failed for good, a webhook
// disabled), the store (hookd.CircuitObserver: a circuit opened or closed)
// and the replay (ReplayFinished). It debounces them at once
// (hookd.Debouncer) and queues those that go out; Run stores each as an
// event for the webhook of every subscription that wants its kind
// (Store.PublishTo), so the dispatcher delivers it like any other: signed,
// retried, logged.
package notify

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/backoff"
	"github.com/hookd/hookd/internal/delivery"
)

// maxQueued bounds the notifications waiting for Run. Debouncing keeps
// them to about one per kind and webhook; beyond it (a debounce of 0 and a
// database that does not take them) they are dropped, and logged, rather
// than grow without end.
const maxQueued = 1 << 16

// flushEvery is how often Run lets out the notifications held back whose
// debounce window is over (Flush).
const flushEvery = 10 * time.Second

// Notifier turns incidents into notifications. Its methods that tell an
// incident are quick and safe for concurrent use.
type Notifier struct {
	clock    hookd.Clock
	log      *slog.Logger
	debounce hookd.Debouncer[incident]

	mu     sync.Mutex
	queue  []incident
	queued chan struct{} // a value when queue has grown
}

// incident is a notification about to go out: its kind, the webhook it is
// about (0 for none) and its data, without the webhook's name.
type incident struct {
	kind      string
	webhookID int64
	at        time.Time
	data      map[string]any
}

// New returns a Notifier that debounces notifications of one kind about one
// subject for window (0: every incident is sent).
func New(clock hookd.Clock, window time.Duration, log *slog.Logger) *Notifier {
	return &Notifier{clock: clock, log: log, debounce: hookd.Debouncer[incident]{Window: window}, queued: make(chan struct{}, 1)}
}

// What each reason that delivery.Observer tells for disabling a webhook
// means.
var disabledDetail = map[string]string{
	delivery.DisabledGone:    "the receiver answered 410 Gone",
	delivery.DisabledFailing: "its deliveries failed without a success for longer than --disable-after",
}

var _ delivery.Observer = (*Notifier)(nil)

// WebhooksDisabled tells that hookd disabled webhooks ids, for reason
// (delivery.Observer).
func (n *Notifier) WebhooksDisabled(reason string, ids []int64) {
	for _, id := range ids {
		n.tell(hookd.NotifyWebhookDisabled, id, strconv.FormatInt(id, 10),
			map[string]any{"reason": reason, "detail": disabledDetail[reason]})
	}
}

// Attempt tells a delivery that failed for good (delivery.Observer).
func (n *Notifier) Attempt(r hookd.AttemptResult) {
	if r.DeliveryState() != hookd.StateFailed {
		return
	}
	data := map[string]any{"delivery_id": r.DeliveryID, "attempts": r.Attempt, "error_class": r.ErrorClass, "error": r.Error}
	if r.HTTPStatus != 0 {
		data["http_status"] = r.HTTPStatus
	}
	n.tell(hookd.NotifyDeliveryFailed, r.WebhookID, strconv.FormatInt(r.WebhookID, 10), data)
}

// CircuitChanged tells a circuit that opened or closed (a
// hookd.CircuitObserver). A circuit that opens again after a failed probe
// is the same incident: only its first opening is told.
func (n *Notifier) CircuitChanged(change hookd.CircuitChange) {
	c := change.Circuit
	subject := strconv.FormatInt(change.WebhookID, 10)
	switch {
	case c.State == hookd.CircuitOpen && c.Opens == 1:
		n.tell(hookd.NotifyCircuitOpened, change.WebhookID, subject, map[string]any{
			"consecutive_failures": c.Failures, "opened_at": c.OpenedAt, "next_probe_at": c.ProbeAt})
	case c.State == hookd.CircuitClosed:
		n.tell(hookd.NotifyCircuitClosed, change.WebhookID, subject, map[string]any{})
	}
}

// ReplayFinished tells that replay replayID of webhook webhookID finished;
// summary (counts, range, how it ended) goes in the notification's data as
// "replay".
func (n *Notifier) ReplayFinished(webhookID int64, replayID string, summary any) {
	n.tell(hookd.NotifyReplayFinished, webhookID, replayID, map[string]any{"replay_id": replayID, "replay": summary})
}

// tell queues the incident unless the debounce holds it back.
func (n *Notifier) tell(kind string, webhookID int64, subject string, data map[string]any) {
	now := n.clock.Now()
	inc := incident{kind: kind, webhookID: webhookID, at: now, data: data}
	if heldBack, ok := n.debounce.Tell(kind, subject, inc, now); ok {
		n.enqueue(inc, heldBack)
	}
}

// Flush queues the notifications held back whose debounce window is over
// (hookd.Debouncer.Due). Run calls it every flushEvery.
func (n *Notifier) Flush() {
	for _, h := range n.debounce.Due(n.clock.Now()) {
		n.enqueue(h.Note, h.HeldBack)
	}
}

func (n *Notifier) enqueue(inc incident, heldBack int) {
	inc.data["held_back"] = heldBack
	n.mu.Lock()
	full := len(n.queue) >= maxQueued
	if !full {
		n.queue = append(n.queue, inc)
	}
	n.mu.Unlock()
	if full {
		n.log.Warn("operational notification dropped: too many waiting", "kind", inc.kind, "webhook", inc.webhookID)
		return
	}
	select {
	case n.queued <- struct{}{}:
	default:
	}
}

// Run stores the queued notifications for the subscriptions of store until
// ctx ends.
func (n *Notifier) Run(ctx context.Context, store hookd.Store) {
	ticker := time.NewTicker(flushEvery)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			n.Flush()
		case <-n.queued:
		}
		n.mu.Lock()
		queue := n.queue
		n.queue = nil
		n.mu.Unlock()
		if len(queue) == 0 {
			continue
		}
		// The subscriptions are read once for what waits: an outage that
		// disables a thousand webhooks is a thousand incidents at once.
		var subs []*hookd.Notification
		if !n.try(ctx, "list the subscriptions", func() (err error) {
			subs, err = store.ListNotifications(ctx)
			return err
		}, "notifications", len(queue)) {
			continue
		}
		for _, inc := range queue {
			n.send(ctx, store, subs, inc)
		}
	}
}

// retry is how long send keeps trying a store that fails: about a minute,
// for a database that restarts or fails over.
var retry = backoff.Backoff{First: 100 * time.Millisecond, Max: 10 * time.Second}

// try calls op until it succeeds, for about a minute (retry), and logs
// its last error, with what and logArgs, if it never does.
func (n *Notifier) try(ctx context.Context, what string, op func() error, logArgs ...any) bool {
	_, err := retry.Retry(ctx, op, func(tries int, _ error, _ time.Duration) bool { return tries < 13 }) // waits of 0.1 s doubling to 10 s: 63 s
	if err != nil && ctx.Err() == nil {
		n.log.Error("operational notifications not sent", append(logArgs, "step", what, "err", err)...)
	}
	return err == nil
}

// send stores inc for every subscription of subs that wants it, each on
// its own: one that fails, or went away meanwhile, does not keep it from
// the others. Incidents about a notification's own webhook are not sent: a
// failing operator URL would otherwise notify about itself.
func (n *Notifier) send(ctx context.Context, store hookd.Store, subs []*hookd.Notification, inc incident) {
	for _, s := range subs {
		if s.WebhookID == inc.webhookID {
			return
		}
	}
	if inc.webhookID != 0 {
		inc.data["webhook_id"] = inc.webhookID
		if w, err := store.Webhook(ctx, inc.webhookID); err == nil {
			inc.data["webhook_name"] = w.Name
		}
	}
	data, err := json.Marshal(inc.data)
	if err != nil {
		n.log.Error("operational notification not sent", "kind", inc.kind, "webhook", inc.webhookID, "err", err)
		return
	}
	for _, s := range subs {
		if !s.Wants(inc.kind) {
			continue
		}
		e := &hookd.Event{Event: inc.kind, Data: data, CreatedAt: inc.at}
		n.try(ctx, "store for subscription "+strconv.FormatInt(s.ID, 10), func() error {
			err := store.PublishTo(ctx, s.WebhookID, e)
			switch {
			case errors.Is(err, hookd.ErrNotFound): // unsubscribed meanwhile
				return nil
			case errors.Is(err, hookd.ErrConflict): // a try that failed to answer had stored it
				return nil
			}
			return err
		}, "kind", inc.kind, "webhook", inc.webhookID)
	}
}
