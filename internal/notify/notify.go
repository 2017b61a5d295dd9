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
	"log/slog"
	"strconv"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/delivery"
)

// queueSize bounds the incidents waiting for Run: debouncing keeps them
// few, and beyond it they are dropped (and logged) rather than slow the
// dispatcher or the store that tells them.
const queueSize = 1024

// Notifier turns incidents into notifications. Its methods that tell an
// incident are quick and safe for concurrent use.
type Notifier struct {
	clock    hookd.Clock
	log      *slog.Logger
	debounce hookd.Debouncer
	queue    chan incident
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
	return &Notifier{clock: clock, log: log, debounce: hookd.Debouncer{Window: window}, queue: make(chan incident, queueSize)}
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
	heldBack, ok := n.debounce.Allow(kind, subject, now)
	if !ok {
		return
	}
	data["held_back"] = heldBack
	select {
	case n.queue <- incident{kind: kind, webhookID: webhookID, at: now, data: data}:
	default:
		n.log.Warn("operational notification dropped: too many waiting", "kind", kind, "webhook", webhookID)
	}
}

// Run stores the queued notifications for the subscriptions of store until
// ctx ends.
func (n *Notifier) Run(ctx context.Context, store hookd.Store) {
	for {
		select {
		case <-ctx.Done():
			return
		case inc := <-n.queue:
			if err := n.send(ctx, store, inc); err != nil && ctx.Err() == nil {
				n.log.Error("operational notification not sent", "kind", inc.kind, "webhook", inc.webhookID, "err", err)
			}
		}
	}
}

// send stores inc for every subscription that wants it. Incidents about a
// notification's own webhook are not sent: a failing operator URL would
// otherwise notify about itself.
func (n *Notifier) send(ctx context.Context, store hookd.Store, inc incident) error {
	subs, err := store.ListNotifications(ctx)
	if err != nil {
		return err
	}
	for _, s := range subs {
		if s.WebhookID == inc.webhookID {
			return nil
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
		return err
	}
	for _, s := range subs {
		if !s.Wants(inc.kind) {
			continue
		}
		e := &hookd.Event{Event: inc.kind, Data: data, CreatedAt: inc.at}
		if err := store.PublishTo(ctx, s.WebhookID, e); err != nil {
			return err
		}
	}
	return nil
}
