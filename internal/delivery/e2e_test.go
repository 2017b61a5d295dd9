package delivery

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/postgres/pgtest"
	"github.com/hookd/hookd/internal/sqlite/sqlitetest"
	"github.com/hookd/hookd/internal/storeopt"
)

// backends runs test against a fresh store of each kind: SQLite always,
// PostgreSQL (a schema of its own) when HOOKD_TEST_POSTGRES_URL is set.
func backends(t *testing.T, test func(t *testing.T, st hookd.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		test(t, sqlitetest.Open(t))
	})
	t.Run("postgres", func(t *testing.T) {
		test(t, pgtest.Open(t))
	})
}

// End to end against each store: an event published through the store
// reaches the receiver, signed, after two failed attempts retried with the
// same webhook-id, and the success and failed logs show every attempt.
func TestDispatcherWithStore(t *testing.T) {
	backends(t, testDispatcherWithStore)
}

func testDispatcherWithStore(t *testing.T, st hookd.Store) {
	ctx := context.Background()
	var calls atomic.Int32
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 2 {
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, "try again")
			return
		}
		io.WriteString(w, `{"ok":true}`)
	})

	secret := hookd.NewSigningSecret()
	wh := &hookd.Webhook{
		Name:          "e2e",
		HTTPURL:       rc.URL + "/in",
		HTTPMethod:    http.MethodPost,
		TriggerEvents: []string{"ASSET_ADDED"},
		Headers: []hookd.Header{
			{Key: "X-Plain", Value: "plain-value"},
			{Key: "X-Hidden", Value: "hidden-value", Hidden: true},
			{Key: "X-HMAC", Value: "hmac-key", IsHMAC: true},
		},
	}
	if err := st.CreateWebhook(ctx, wh, secret); err != nil {
		t.Fatal(err)
	}

	startDispatcher(t, Config{
		Store:  st,
		Sender: NewSender(SenderConfig{Timeout: 5 * time.Second, AllowPrivate: loopback}),
		Policy: fastPolicy(),
	})

	pub, err := st.PublishEvents(ctx, []*hookd.Event{{
		Event: "ASSET_ADDED", UserID: ptr(int64(3)), Data: json.RawMessage(`{"asset_id":99}`),
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(pub) != 1 || pub[0].Deliveries != 1 {
		t.Fatalf("published %+v", pub)
	}
	ev := pub[0].Event

	var successes, failures []*hookd.LogEntry
	waitFor(t, 10*time.Second, "a success in the log", func() bool {
		successes, err = st.Log(ctx, wh.ID, true, 1, 50)
		return err == nil && len(successes) == 1
	})
	failures, err = st.Log(ctx, wh.ID, false, 1, 50)
	if err != nil {
		t.Fatal(err)
	}

	// The receiver got three identical, signed requests.
	reqs := rc.requests()
	if len(reqs) != 3 {
		t.Fatalf("receiver got %d requests, want 3", len(reqs))
	}
	msgID := reqs[0].Header.Get("webhook-id")
	if msgID == "" {
		t.Fatal("no webhook-id")
	}
	wantBody := string(Body(&ev, wh.ID))
	for i, req := range reqs {
		if req.Header.Get("webhook-id") != msgID {
			t.Errorf("request %d: webhook-id %q, want %q", i+1, req.Header.Get("webhook-id"), msgID)
		}
		if string(req.Body) != wantBody {
			t.Errorf("request %d: body\n got %s\nwant %s", i+1, req.Body, wantBody)
		}
		if err := mustWebhook(t, secret).Verify(req.Body, req.Header); err != nil {
			t.Errorf("request %d: %v", i+1, err)
		}
		if req.Header.Get("X-Plain") != "plain-value" || req.Header.Get("X-Hidden") != "hidden-value" ||
			req.Header.Get("X-HMAC") != HMACHex("hmac-key", req.Body) {
			t.Errorf("request %d: custom headers %v", i+1, req.Header)
		}
	}
	var body struct {
		ID        string `json:"id"`
		WebhookID int64  `json:"webhook_id"`
		UserID    int64  `json:"user_id"`
	}
	if err := json.Unmarshal(reqs[0].Body, &body); err != nil || body.ID != ev.ID || body.WebhookID != wh.ID || body.UserID != 3 {
		t.Errorf("body %s: %+v %v", reqs[0].Body, body, err)
	}

	// The logs show the two failures and the success.
	s := successes[0]
	if s.Attempt != 3 || s.HTTPStatus != 200 || s.MessageID != msgID || s.EventID != ev.ID || s.ResponseBody != `{"ok":true}` {
		t.Errorf("success entry %+v", s)
	}
	if len(failures) != 2 {
		t.Fatalf("%d failures logged, want 2", len(failures))
	}
	for _, f := range failures {
		if f.HTTPStatus != 500 || f.ErrorClass != hookd.ClassStatus || f.NextAttemptAt == nil || f.MessageID != msgID || f.ResponseBody != "try again" {
			t.Errorf("failure entry %+v", f)
		}
	}
	for _, e := range append(failures, successes...) {
		for k, v := range e.RequestHeaders {
			if strings.Contains(v, "hidden-value") || strings.Contains(v, "hmac-key") || strings.HasPrefix(v, "v1,") {
				t.Errorf("attempt %d: secret shown in %s: %q", e.Attempt, k, v)
			}
		}
		if e.RequestHeaders["X-Plain"] != "plain-value" || e.RequestHeaders["X-Hidden"] != Masked {
			t.Errorf("attempt %d: headers %v", e.Attempt, e.RequestHeaders)
		}
	}

	// Nothing is left in the queue, and the latest run is the success.
	got, err := st.Webhook(ctx, wh.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.QueueLength != 0 || got.RetryQueueLength != 0 || got.LatestRun == nil || !got.LatestRun.Success || got.LatestRun.HTTPStatus != 200 {
		t.Errorf("webhook after delivery: queue %d retry %d latest %+v", got.QueueLength, got.RetryQueueLength, got.LatestRun)
	}
}

// A 410 Gone disables the webhook in the store, and its other queued
// deliveries wait, unsent.
func TestDispatcherWithStoreGone(t *testing.T) {
	backends(t, testDispatcherWithStoreGone)
}

// claimCounter counts the Claim calls that have returned; the dispatcher
// makes one at a time.
type claimCounter struct {
	hookd.Store
	claims atomic.Int64
}

func (s *claimCounter) Claim(ctx context.Context, req hookd.ClaimRequest) (hookd.Claimed, error) {
	defer s.claims.Add(1)
	return s.Store.Claim(ctx, req)
}

func testDispatcherWithStoreGone(t *testing.T, st hookd.Store) {
	ctx := context.Background()
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusGone) })
	wh := &hookd.Webhook{Name: "gone", HTTPURL: rc.URL, HTTPMethod: http.MethodPost, TriggerEvents: []string{"ASSET_ADDED"}}
	if err := st.CreateWebhook(ctx, wh, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := st.PublishEvents(ctx, []*hookd.Event{
		{Event: "ASSET_ADDED", Data: json.RawMessage(`{}`)},
	}); err != nil {
		t.Fatal(err)
	}
	counter := &claimCounter{Store: st}
	stop := startDispatcher(t, Config{Store: counter, Sender: testSender(5 * time.Second), Concurrency: 1, PollInterval: 20 * time.Millisecond})
	waitFor(t, 10*time.Second, "the webhook to be disabled", func() bool {
		w, err := st.Webhook(ctx, wh.ID)
		return err == nil && w.Disabled
	})
	failures, err := st.Log(ctx, wh.ID, false, 1, 50)
	if err != nil {
		t.Fatal(err)
	}
	if len(failures) != 1 || failures[0].ErrorClass != hookd.ClassGone || failures[0].HTTPStatus != 410 || failures[0].NextAttemptAt != nil {
		t.Fatalf("failures %+v", failures)
	}
	// An event for the disabled webhook sent with PublishTo (the test
	// action) waits, unsent and not failed, until the webhook is enabled.
	// (A claim begun after PublishTo has returned once the count passes
	// claimed+1; after it, and the dispatcher stopped, nothing more happens.)
	if err := st.PublishTo(ctx, wh.ID, &hookd.Event{Event: "ASSET_ADDED", Data: json.RawMessage(`{}`)}); err != nil {
		t.Fatal(err)
	}
	claimed := counter.claims.Load()
	waitFor(t, 10*time.Second, "a claim after PublishTo", func() bool { return counter.claims.Load() > claimed+1 })
	stop()
	failures, err = st.Log(ctx, wh.ID, false, 1, 50)
	if err != nil || len(failures) != 1 {
		t.Fatalf("failures after PublishTo to the disabled webhook: %+v, %v", failures, err)
	}
	if w, err := st.Webhook(ctx, wh.ID); err != nil || w.QueueLength != 1 {
		t.Fatalf("webhook after PublishTo: %+v, %v", w, err)
	}
	if n := len(rc.requests()); n != 1 {
		t.Errorf("receiver got %d requests, want 1", n)
	}
}

// An event that matches more webhooks than a transaction creates
// deliveries for is accepted at once and reaches every one of them: the
// dispatcher creates the rest (Store.FanOut) a chunk at a time.
func TestLargeFanOutDelivered(t *testing.T) {
	chunk := storeopt.WithFanOutChunk(4)
	t.Run("sqlite", func(t *testing.T) {
		testLargeFanOutDelivered(t, sqlitetest.Open(t, chunk))
	})
	t.Run("postgres", func(t *testing.T) { testLargeFanOutDelivered(t, pgtest.Open(t, chunk)) })
}

func testLargeFanOutDelivered(t *testing.T, st hookd.Store) {
	ctx := context.Background()
	var mu sync.Mutex
	got := map[string]int{} // path (webhook) and event id -> deliveries
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got[r.URL.Path+" "+r.Header.Get("webhook-id")]++
		mu.Unlock()
	})
	const webhooks = 11
	for i := range webhooks {
		wh := &hookd.Webhook{Name: "wide", HTTPURL: fmt.Sprintf("%s/%d", rc.URL, i), HTTPMethod: http.MethodPost,
			TriggerEvents: []string{"ASSET_ADDED"}}
		if err := st.CreateWebhook(ctx, wh, hookd.NewSigningSecret()); err != nil {
			t.Fatal(err)
		}
	}
	startDispatcher(t, Config{Store: st, Sender: NewSender(SenderConfig{Timeout: 5 * time.Second, AllowPrivate: loopback}), Policy: fastPolicy()})

	pub, err := st.PublishEvents(ctx, []*hookd.Event{{Event: "ASSET_ADDED"}, {Event: "ASSET_ADDED"}})
	if err != nil {
		t.Fatal(err)
	}
	if pub[0].Deliveries != webhooks || pub[1].Deliveries != webhooks {
		t.Fatalf("published %+v, want %d deliveries each", pub, webhooks)
	}
	waitFor(t, 10*time.Second, "every webhook's deliveries", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) == 2*webhooks
	})
	mu.Lock()
	defer mu.Unlock()
	for k, n := range got {
		if n != 1 {
			t.Errorf("%s: %d deliveries, want 1", k, n)
		}
	}
}
