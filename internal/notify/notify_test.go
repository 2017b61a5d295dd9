package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/clocktest"
	"github.com/hookd/hookd/internal/delivery"
	"github.com/hookd/hookd/internal/notify"
	"github.com/hookd/hookd/internal/sqlite/sqlitetest"
	"github.com/hookd/hookd/internal/storeopt"
)

// notification is one request of hookd to the operator's URL.
type notification struct {
	messageID string
	kind      string
	data      map[string]any
	verified  error
}

// opsReceiver is the operator's URL: it checks each request's signature
// and answers 503 to the very first, so that it is retried.
type opsReceiver struct {
	*httptest.Server
	mu       sync.Mutex
	secret   string
	requests []notification
}

func newOpsReceiver(t *testing.T) *opsReceiver {
	r := &opsReceiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		var env struct {
			Event string         `json:"event"`
			Data  map[string]any `json:"data"`
		}
		json.Unmarshal(body, &env)
		r.mu.Lock()
		defer r.mu.Unlock()
		wh, err := standardwebhooks.NewWebhook(r.secret)
		if err == nil {
			// The timestamp is the test clock's.
			err = wh.VerifyIgnoringTimestamp(body, req.Header)
		}
		r.requests = append(r.requests, notification{req.Header.Get("webhook-id"), env.Event, env.Data, err})
		if len(r.requests) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(r.Close)
	return r
}

// delivered returns the notifications that were answered 200, in order.
func (r *opsReceiver) delivered() []notification {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.requests) < 2 {
		return nil
	}
	return append([]notification(nil), r.requests[1:]...)
}

// statusReceiver answers every request with its status, and counts them.
func statusReceiver(t *testing.T, status *atomic.Int32, count *atomic.Int32) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		count.Add(1)
		w.WriteHeader(int(status.Load()))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestNotifications runs the real pipeline (SQLite, dispatcher, sender) on
// a test clock against receivers on 127.0.0.1 that fail in each way that
// hookd tells an operator about. Each kind arrives once per incident,
// signed with the subscription's secret, after a retry for the first; a
// webhook that keeps failing sends one delivery.failed an hour, and the
// next says how many were held back.
func TestNotifications(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clock := clocktest.New(time.Now())
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	n := notify.New(clock, time.Hour, logger)
	st := sqlitetest.Open(t, storeopt.WithClock(clock),
		storeopt.WithCircuitPolicy(hookd.CircuitPolicy{Failures: 2, Cooldown: time.Minute, MaxCooldown: time.Hour}),
		storeopt.WithCircuitObserver(n.CircuitChanged))

	ops := newOpsReceiver(t)
	sub := &hookd.Notification{URL: ops.URL, Kinds: hookd.NotificationKinds}
	if err := st.CreateNotification(ctx, sub, ""); err != nil {
		t.Fatal(err)
	}
	secrets, err := st.Secrets(ctx, sub.WebhookID)
	if err != nil {
		t.Fatal(err)
	}
	ops.mu.Lock()
	ops.secret = secrets[0]
	ops.mu.Unlock()

	d, err := delivery.New(delivery.Config{
		Store: st, Clock: clock, Concurrency: 4, PollInterval: 10 * time.Millisecond, Logger: logger,
		Sender:   delivery.NewSender(delivery.SenderConfig{Timeout: 5 * time.Second, AllowPrivate: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}),
		Policy:   &delivery.Policy{Schedule: []time.Duration{time.Second}}, // two attempts
		Observer: n,
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	go n.Run(ctx, st)

	webhook := func(name, url, event string) *hookd.Webhook {
		w := &hookd.Webhook{Name: name, HTTPURL: url, HTTPMethod: "POST", TriggerEvents: []string{event}}
		if err := st.CreateWebhook(ctx, w, ""); err != nil {
			t.Fatal(err)
		}
		return w
	}
	publish := func(event string, k int) {
		for range k {
			if _, err := st.PublishEvents(ctx, []*hookd.Event{{Event: event}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// settled waits until every attempt of webhook id begun is recorded:
	// moving the clock before would expire its lease, and the delivery
	// would be sent again (at least once).
	settled := func(id int64) {
		t.Helper()
		waitFor(t, "the attempts recorded", func() bool {
			w, err := st.Webhook(ctx, id)
			return err == nil && w.QueueLength == 0
		})
	}
	// arrived waits for the delivered notifications to number want, and
	// recorded.
	arrived := func(want int) []notification {
		t.Helper()
		waitFor(t, fmt.Sprintf("%d notifications", want), func() bool { return len(ops.delivered()) >= want })
		settled(sub.WebhookID)
		return ops.delivered()
	}

	// A delivery failed for good, three times: one notification. The
	// operator's URL fails it first: it is retried (a second later).
	var badStatus, badCount atomic.Int32
	badStatus.Store(http.StatusBadRequest)
	bad := webhook("bad", statusReceiver(t, &badStatus, &badCount), "ASSET_ADDED")
	publish("ASSET_ADDED", 3)
	waitFor(t, "the first attempts", func() bool { return badCount.Load() == 3 })
	settled(bad.ID)
	clock.Advance(2 * time.Second)
	waitFor(t, "the notification's first try", func() bool { ops.mu.Lock(); defer ops.mu.Unlock(); return len(ops.requests) == 1 })
	settled(sub.WebhookID)
	clock.Advance(2 * time.Second)
	got := arrived(1)
	ops.mu.Lock()
	first := ops.requests[0]
	ops.mu.Unlock()
	if got[0].messageID != first.messageID || got[0].kind != hookd.NotifyDeliveryFailed {
		t.Fatalf("retried %+v, first try %+v: want the same delivery.failed message", got[0], first)
	}

	// A circuit opens (two 503s in a row), its probe fails (the same
	// incident), then a probe succeeds: opened once, closed once.
	var downStatus, downCount atomic.Int32
	downStatus.Store(http.StatusServiceUnavailable)
	down := webhook("down", statusReceiver(t, &downStatus, &downCount), "ASSET_REMOVED")
	publish("ASSET_REMOVED", 2)
	arrived(2)
	settled(down.ID)
	clock.Advance(61 * time.Second) // the probe: fails for good, opens again
	waitFor(t, "the failed probe", func() bool { return downCount.Load() == 3 })
	arrived(3) // that delivery failed for good
	settled(down.ID)
	downStatus.Store(http.StatusOK)
	clock.Advance(121 * time.Second)
	arrived(4)

	// A receiver answers 410: its delivery failed for good, and the
	// webhook is disabled.
	var goneStatus, goneCount atomic.Int32
	goneStatus.Store(http.StatusGone)
	gone := webhook("gone", statusReceiver(t, &goneStatus, &goneCount), "ASSET_UPDATED")
	publish("ASSET_UPDATED", 1)
	arrived(6)

	n.ReplayFinished(bad.ID, "rpl_1", map[string]int{"events": 3})
	arrived(7)
	// Maintenance disables a webhook failing for too long (DisableFailing).
	n.WebhooksDisabled(delivery.DisabledFailing, []int64{down.ID})
	arrived(8)

	// The bad webhook keeps failing: nothing within the hour; after it,
	// one notification that counts the failures held back.
	publish("ASSET_ADDED", 2)
	waitFor(t, "more first attempts", func() bool { return badCount.Load() == 8 })
	settled(bad.ID)
	clock.Advance(2 * time.Second)
	waitFor(t, "more second attempts", func() bool { return badCount.Load() == 10 })
	settled(bad.ID)
	clock.Advance(time.Hour)
	publish("ASSET_ADDED", 1)
	waitFor(t, "the last first attempt", func() bool { return badCount.Load() == 11 })
	settled(bad.ID)
	clock.Advance(2 * time.Second)
	got = arrived(9)

	type key struct {
		kind    string
		webhook int64
	}
	seen := map[key][]notification{}
	ids := map[string]bool{}
	for _, g := range got {
		if g.verified != nil {
			t.Errorf("%s: signature: %v", g.kind, g.verified)
		}
		if ids[g.messageID] {
			t.Errorf("%s %s delivered twice", g.kind, g.messageID)
		}
		ids[g.messageID] = true
		id, _ := g.data["webhook_id"].(float64)
		k := key{g.kind, int64(id)}
		seen[k] = append(seen[k], g)
	}
	for k, want := range map[key]int{
		{hookd.NotifyDeliveryFailed, bad.ID}:   2,
		{hookd.NotifyCircuitOpened, down.ID}:   1,
		{hookd.NotifyDeliveryFailed, down.ID}:  1,
		{hookd.NotifyCircuitClosed, down.ID}:   1,
		{hookd.NotifyDeliveryFailed, gone.ID}:  1,
		{hookd.NotifyWebhookDisabled, gone.ID}: 1,
		{hookd.NotifyReplayFinished, bad.ID}:   1,
		{hookd.NotifyWebhookDisabled, down.ID}: 1,
	} {
		if len(seen[k]) != want {
			t.Errorf("%s of webhook %d: %d notifications, want %d", k.kind, k.webhook, len(seen[k]), want)
		}
	}
	if len(got) != 9 {
		t.Errorf("%d notifications, want 9: %+v", len(got), got)
	}
	failed := seen[key{hookd.NotifyDeliveryFailed, bad.ID}]
	if len(failed) == 2 {
		if failed[0].data["held_back"] != 0.0 || failed[1].data["held_back"] != 4.0 {
			t.Errorf("held_back %v then %v, want 0 then 4 (2 of the first incident, 2 within the hour)",
				failed[0].data["held_back"], failed[1].data["held_back"])
		}
		if failed[0].data["error_class"] != "status" || failed[0].data["http_status"] != 400.0 || failed[0].data["webhook_name"] != "bad" {
			t.Errorf("delivery.failed data %v", failed[0].data)
		}
	}
	if dis := seen[key{hookd.NotifyWebhookDisabled, gone.ID}]; len(dis) == 1 && dis[0].data["reason"] != "gone" {
		t.Errorf("webhook.disabled data %v, want reason gone", dis[0].data)
	}
	if dis := seen[key{hookd.NotifyWebhookDisabled, down.ID}]; len(dis) == 1 && dis[0].data["reason"] != "failing" {
		t.Errorf("webhook.disabled data %v, want reason failing", dis[0].data)
	}
	if rp := seen[key{hookd.NotifyReplayFinished, bad.ID}]; len(rp) == 1 && rp[0].data["replay_id"] != "rpl_1" {
		t.Errorf("replay.finished data %v", rp[0].data)
	}
}

// queued returns how many notifications wait to be delivered through
// subscription sub.
func queued(t *testing.T, st hookd.Store, sub *hookd.Notification) int {
	t.Helper()
	w, err := st.Webhook(t.Context(), sub.WebhookID)
	if err != nil {
		t.Fatal(err)
	}
	return w.QueueLength
}

// flakyStore fails the first PublishTo to webhook flaky, and forgets the
// subscription of webhook gone as it is listed (an operator unsubscribing
// at that moment).
type flakyStore struct {
	hookd.Store
	flaky, gone int64
	failed      atomic.Bool
}

func (s *flakyStore) PublishTo(ctx context.Context, webhookID int64, e *hookd.Event) error {
	if webhookID == s.flaky && s.failed.CompareAndSwap(false, true) {
		return hookd.ErrUnavailable
	}
	return s.Store.PublishTo(ctx, webhookID, e)
}

func (s *flakyStore) ListNotifications(ctx context.Context) ([]*hookd.Notification, error) {
	subs, err := s.Store.ListNotifications(ctx)
	for _, sub := range subs {
		if sub.WebhookID == s.gone {
			if err := s.Store.DeleteWebhook(ctx, sub.WebhookID); err != nil {
				return nil, err
			}
		}
	}
	return subs, err
}

// TestNotificationsReachEverySubscription: a subscription that fails, or
// goes away, does not keep an incident from the others, and the one that
// failed gets it on a later try; an incident beyond any queue's size is
// not dropped; a circuit's state held back is told once its window is
// over.
func TestNotificationsReachEverySubscription(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	clock := clocktest.New(time.Now())
	n := notify.New(clock, time.Hour, slog.New(slog.NewTextHandler(io.Discard, nil)))
	st := sqlitetest.Open(t, storeopt.WithClock(clock))
	var subs []*hookd.Notification
	for _, url := range []string{"https://gone.example/ops", "https://flaky.example/ops", "https://ok.example/ops"} {
		sub := &hookd.Notification{URL: url, Kinds: hookd.NotificationKinds}
		if err := st.CreateNotification(ctx, sub, ""); err != nil {
			t.Fatal(err)
		}
		subs = append(subs, sub)
	}
	store := &flakyStore{Store: st, gone: subs[0].WebhookID, flaky: subs[1].WebhookID}

	n.WebhooksDisabled(delivery.DisabledFailing, []int64{101, 102, 103}) // not the subscriptions' own
	go n.Run(ctx, store)
	for _, sub := range subs[1:] {
		waitFor(t, "every webhook.disabled", func() bool { return queued(t, st, sub) == 3 })
	}
	if _, err := st.Notification(ctx, subs[0].ID); !errors.Is(err, hookd.ErrNotFound) {
		t.Fatalf("the subscription that went away: %v", err)
	}

	// More incidents at once than a bounded queue held (1,024), to the
	// one subscription left.
	if err := st.DeleteWebhook(ctx, subs[1].WebhookID); err != nil {
		t.Fatal(err)
	}
	ok := subs[2]
	const disabled = 1100
	ids := make([]int64, disabled)
	for i := range ids {
		ids[i] = int64(1000 + i)
	}
	n.WebhooksDisabled(delivery.DisabledFailing, ids)
	waitFor(t, "every webhook.disabled", func() bool { return queued(t, st, ok) == 3+disabled })

	// A circuit opens, closes, and opens again within the hour: the
	// second opening is told once the hour is over, and the operator's
	// last word is that it is open.
	for _, state := range []hookd.CircuitState{hookd.CircuitOpen, hookd.CircuitClosed, hookd.CircuitOpen} {
		n.CircuitChanged(hookd.CircuitChange{WebhookID: 7, Circuit: hookd.Circuit{State: state, Opens: 1}})
		clock.Advance(time.Minute)
	}
	waitFor(t, "circuit.opened and circuit.closed", func() bool { return queued(t, st, ok) == 3+disabled+2 })
	clock.Advance(time.Hour)
	n.Flush()
	waitFor(t, "the second circuit.opened", func() bool { return queued(t, st, ok) == 3+disabled+3 })
}
