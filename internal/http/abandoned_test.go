package http_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd"
	hookdhttp "github.com/hookd/hookd/internal/http"
	"github.com/hookd/hookd/internal/sqlite/sqlitetest"
)

// heldPublish is a store whose first PublishEvents waits for release,
// after telling entered.
type heldPublish struct {
	hookd.Store
	held             atomic.Bool
	entered, release chan struct{}
}

func (s *heldPublish) PublishEvents(ctx context.Context, events []*hookd.Event) ([]hookd.Published, error) {
	if s.held.CompareAndSwap(false, true) {
		close(s.entered)
		<-s.release
	}
	return s.Store.PublishEvents(ctx, events)
}

// publishLog is an Observer that keeps the events it is told of, and tells
// answered of each request answered.
type publishLog struct {
	mu                           sync.Mutex
	accepted, queued, duplicates int
	answered                     chan int // the status of each POST /api/v2/events
}

func (l *publishLog) Request(method, route string, status int, _ time.Duration) {
	if method == "POST" && route == "/api/v2/events" {
		l.answered <- status
	}
}

func (l *publishLog) EventsPublished(published []hookd.Published) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, p := range published {
		if p.Duplicate {
			l.duplicates++
			continue
		}
		l.accepted++
		l.queued += p.Deliveries
	}
}

// TestObserverCountsEventStoredForAbandonedRequest: an event whose client
// gave up while its commit ran is stored all the same, and is counted as
// accepted, once; its resend is counted as a duplicate.
func TestObserverCountsEventStoredForAbandonedRequest(t *testing.T) {
	store := sqlitetest.Open(t)
	w := &hookd.Webhook{Name: "w", HTTPURL: "http://127.0.0.1:9/", HTTPMethod: "POST", TriggerEvents: []string{"ASSET_ADDED"}}
	if err := store.CreateWebhook(t.Context(), w, hookd.NewSigningSecret()); err != nil {
		t.Fatal(err)
	}
	held := &heldPublish{Store: store, entered: make(chan struct{}), release: make(chan struct{})}
	log := &publishLog{answered: make(chan int, 2)}
	a := newTestAPI(t, held, hookdhttp.WithObserver(log))
	answered := func() int {
		t.Helper()
		select {
		case status := <-log.answered:
			return status
		case <-time.After(10 * time.Second):
			t.Fatal("the observer was not told of the request")
			return 0
		}
	}

	const body = `{"id":"evt-abandoned","event":"ASSET_ADDED","data":{"n":1}}`
	ctx, cancel := context.WithCancel(t.Context())
	req, _ := http.NewRequestWithContext(ctx, "POST", a.url+"/api/v2/events", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-KEY", a.publisher)
	done := make(chan error, 1)
	go func() {
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
		}
		done <- err
	}()
	<-held.entered // the commit runs
	cancel()
	if err := <-done; err == nil {
		t.Fatal("the abandoned request got an answer")
	}
	if status := answered(); status != hookdhttp.StatusClientClosedRequest {
		t.Fatalf("the abandoned request was told as %d, want 499", status)
	}
	close(held.release) // its handler has returned: now the commit ends

	// The resend commits after the first: once it is answered, both are told.
	if res := a.do("POST", "/api/v2/events", a.publisher, body); res.status != 200 || !strings.Contains(string(res.body), `"duplicate":true`) {
		t.Fatalf("resend answered %d %s, want 200 and a duplicate", res.status, res.body)
	}
	answered()
	if got, err := store.Webhook(t.Context(), w.ID); err != nil || got.QueueLength != 1 {
		t.Fatalf("queue_length of the webhook: %+v, %v; want 1", got, err)
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	if log.accepted != 1 || log.queued != 1 || log.duplicates != 1 {
		t.Errorf("told %d events accepted, %d deliveries queued, %d duplicates; want 1, 1, 1",
			log.accepted, log.queued, log.duplicates)
	}
}
