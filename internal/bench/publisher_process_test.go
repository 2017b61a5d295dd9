package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestServePublisher publishes a plan as the child does, against a server
// that accepts single events, then against one that refuses them.
func TestServePublisher(t *testing.T) {
	var got atomic.Int64
	var key atomic.Value
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key.Store(r.Header.Get("X-API-KEY"))
		io.Copy(io.Discard, r.Body)
		if r.URL.Path != "/api/v2/events" {
			http.Error(w, "not the single-event endpoint", http.StatusNotFound)
			return
		}
		got.Add(1)
	}))
	defer ok.Close()
	refuse := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error":"Unauthorized"}`, http.StatusUnauthorized)
	}))
	defer refuse.Close()

	serve := func(url string) PublishResult {
		t.Helper()
		plan, _ := json.Marshal(PublishPlan{BaseURL: url, APIKey: "k1", Event: "ASSET_ADDED", Batch: 1, Total: 50, Workers: 4})
		var out bytes.Buffer
		if err := ServePublisher(t.Context(), bytes.NewReader(plan), &out); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		var r PublishResult
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &r); err != nil || !r.Done {
			t.Fatalf("last line %q: %v", lines[len(lines)-1], err)
		}
		return r
	}
	r := serve(ok.URL)
	if r.Accepted != 50 || got.Load() != 50 || r.Error != "" || r.First == 0 || r.Last < r.First || r.P99 <= 0 {
		t.Errorf("result %+v, server got %d", r, got.Load())
	}
	if key.Load() != "k1" {
		t.Errorf("API key %v, want the plan's", key.Load())
	}
	if r := serve(refuse.URL); r.Accepted != 0 || !strings.Contains(r.Error, "HTTP 401") {
		t.Errorf("refused: result %+v, want the 401 as its error", r)
	}
}

// TestRunPublisher checks the parent's side: progress lines update the
// count, the last line is the result, and a child that ends without one,
// or reports an error, or outlives the context, fails the run.
func TestRunPublisher(t *testing.T) {
	child := func(script string) *exec.Cmd {
		return exec.Command("sh", "-c", "cat > /dev/null; "+script)
	}
	var accepted atomic.Int64
	r, err := RunPublisher(t.Context(), child(`echo '{"accepted":3}'; echo '{"accepted":5,"done":true,"first":1,"last":2,"p99_ms":1.5}'`),
		PublishPlan{Total: 5}, &accepted)
	if err != nil || r.Accepted != 5 || accepted.Load() != 5 || r.P99 != 1.5 {
		t.Errorf("result %+v, accepted %d, err %v", r, accepted.Load(), err)
	}
	if _, err := RunPublisher(t.Context(), child(`echo '{"accepted":3}'`), PublishPlan{}, &accepted); err == nil ||
		!strings.Contains(err.Error(), "without its result") {
		t.Errorf("a child without a result: err %v", err)
	}
	if _, err := RunPublisher(t.Context(), child(`echo '{"accepted":0,"done":true,"error":"publish: HTTP 429"}'`), PublishPlan{}, &accepted); err == nil ||
		!strings.Contains(err.Error(), "HTTP 429") {
		t.Errorf("a child reporting an error: err %v", err)
	}
	if _, err := RunPublisher(t.Context(), child(`echo not json`), PublishPlan{}, &accepted); err == nil {
		t.Error("a child writing something else: no error")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := RunPublisher(ctx, child(`sleep 30`), PublishPlan{}, &accepted); err == nil {
		t.Error("a child outliving its context: no error")
	}
	if time.Since(start) > 20*time.Second {
		t.Error("the child outliving its context was not killed")
	}
}
