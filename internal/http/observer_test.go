package http_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd"
	hookdhttp "github.com/hookd/hookd/internal/http"
	"github.com/hookd/hookd/internal/sqlite/sqlitetest"
)

// requestLog is an Observer that keeps the requests it is told of.
type requestLog struct {
	mu       sync.Mutex
	statuses map[string][]int // by route
	told     chan struct{}
}

func (l *requestLog) Request(method, route string, status int, _ time.Duration) {
	l.mu.Lock()
	l.statuses[method+" "+route] = append(l.statuses[method+" "+route], status)
	l.mu.Unlock()
	l.told <- struct{}{}
}

func (l *requestLog) EventsPublished([]hookd.Published) {}

// stallingProjects is a store whose ListProjects waits until its caller
// gives up, and whose Project panics.
type stallingProjects struct {
	hookd.Store
	entered chan struct{}
}

func (s stallingProjects) ListProjects(ctx context.Context, _ hookd.ProjectFilter) ([]*hookd.Project, error) {
	close(s.entered)
	<-ctx.Done()
	return nil, ctx.Err()
}

func (s stallingProjects) Project(context.Context, string) (*hookd.Project, error) {
	panic("a bug")
}

// TestObserverCountsAbandonedRequests: a request whose client went away
// before its answer is told as 499, not as the 200 it never got; one whose
// handler panics is answered and told as 500.
func TestObserverCountsAbandonedRequests(t *testing.T) {
	store := sqlitetest.Open(t)
	stalling := stallingProjects{Store: store, entered: make(chan struct{})}
	log := &requestLog{statuses: map[string][]int{}, told: make(chan struct{}, 1)}
	a := newTestAPI(t, stalling, hookdhttp.WithObserver(log))

	told := func() {
		t.Helper()
		select {
		case <-log.told:
		case <-time.After(10 * time.Second):
			t.Fatal("the observer was not told of the request")
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	req, _ := http.NewRequestWithContext(ctx, "GET", a.url+"/api/v2/admin/projects", nil)
	req.Header.Set("X-API-KEY", a.adminKey)
	done := make(chan error, 1)
	go func() {
		_, err := http.DefaultClient.Do(req)
		done <- err
	}()
	<-stalling.entered
	cancel()
	if err := <-done; err == nil {
		t.Fatal("the abandoned request got an answer")
	}
	told()
	expect(t, a.do("GET", "/healthz", "", ""), 200, `{"status":"ok"}`)
	told()
	expect(t, a.do("GET", "/api/v2/projects/p", a.adminKey, ""), 500, `{"error":"Internal Server Error"}`)
	told()
	log.mu.Lock()
	defer log.mu.Unlock()
	if got := log.statuses["GET /api/v2/admin/projects"]; len(got) != 1 || got[0] != hookdhttp.StatusClientClosedRequest {
		t.Errorf("the abandoned request was told as %v, want [499]", got)
	}
	if got := log.statuses["GET /healthz"]; len(got) != 1 || got[0] != 200 {
		t.Errorf("the answered request was told as %v, want [200]", got)
	}
	if got := log.statuses["GET /api/v2/projects/{project_id}"]; len(got) != 1 || got[0] != 500 {
		t.Errorf("the request that panicked was told as %v, want [500]", got)
	}
}
