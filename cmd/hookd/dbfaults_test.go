package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/postgres/pgtest"
)

// TestHungDatabase runs hookd serve on PostgreSQL through a proxy that
// stalls: connections stay open, nothing comes back. A publish is answered
// 503 with Retry-After once --database-timeout has passed, rather than
// waiting for ever, /readyz answers 503, and both answer 200 again once
// the database does.
func TestHungDatabase(t *testing.T) {
	schema := pgtest.Schema(t) // skips without PostgreSQL
	proxy := pgtest.NewProxy(t)
	url, _ := startServe(t, "--database", proxy.URLFor(t, schema), "--admin-api-key", testAdminKey, "--database-timeout", "1s")
	// The test's own deadline: without the store's, the publish waits for
	// as long as the database hangs.
	hc := &http.Client{Timeout: 30 * time.Second}
	publish := func(id string) (int, string, http.Header) {
		t.Helper()
		req, _ := http.NewRequest("POST", url+"/api/v2/events", strings.NewReader(`{"id":"`+id+`","event":"ASSET_ADDED","data":{}}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-API-KEY", testAdminKey)
		res, err := hc.Do(req)
		if err != nil {
			t.Fatalf("publish while the database hangs: %v", err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, strings.TrimSpace(string(body)), res.Header
	}
	ready := func() int {
		t.Helper()
		res, err := hc.Get(url + "/readyz")
		if err != nil {
			t.Fatalf("/readyz while the database hangs: %v", err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if status, body, _ := publish("evt_hung_1"); status != 200 {
		t.Fatalf("publish before the hang: %d %s", status, body)
	}

	proxy.Stall()
	status, body, header := publish("evt_hung_2")
	if status != http.StatusServiceUnavailable || header.Get("Retry-After") == "" ||
		body != `{"error":"Service unavailable: the database does not answer, try again"}` {
		t.Errorf("publish while the database hangs: %d (Retry-After %q) %s, want 503 with Retry-After", status, header.Get("Retry-After"), body)
	}
	if status := ready(); status != http.StatusServiceUnavailable {
		t.Errorf("/readyz while the database hangs: %d, want 503", status)
	}

	proxy.Resume()
	deadline := time.Now().Add(15 * time.Second)
	for {
		status, body, _ := publish("evt_hung_2")
		if status == 200 && ready() == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the database answers again: publish %d %s, /readyz %d", status, body, ready())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
