package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd/api"
	"github.com/hookd/hookd/client"
)

// A server that redirects gets the redirect back as an *Error naming it,
// and the API key goes nowhere else: not with the default client, nor with
// one given by WithHTTPClient (which is left as it was).
func TestRedirectIsNotFollowed(t *testing.T) {
	var leaked atomic.Int32
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-API-KEY") != "" {
			leaked.Add(1)
		}
		w.Write([]byte(`{"webhook":{"id":1}}`))
	}))
	defer elsewhere.Close()
	for _, status := range []int{301, 302, 303, 307, 308} {
		redirecting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, elsewhere.URL+r.URL.Path, status)
		}))
		given := &http.Client{}
		for name, c := range map[string]*client.Client{
			"default":        client.New(redirecting.URL, "prefix.secret"),
			"WithHTTPClient": client.New(redirecting.URL, "prefix.secret", client.WithHTTPClient(given)),
		} {
			_, err := c.Webhook(context.Background(), 1)
			var apiErr *client.Error
			if !errors.As(err, &apiErr) || apiErr.Status != status || !strings.Contains(apiErr.Message, elsewhere.URL+"/api/v2/admin/webhooks/1") {
				t.Errorf("%d, %s client: %v, want an *Error with the status and the Location", status, name, err)
			}
			if _, err := c.Publish(context.Background(), &api.Event{Event: "ASSET_ADDED"}); !errors.As(err, &apiErr) || apiErr.Status != status {
				t.Errorf("%d, %s client, a publish: %v", status, name, err)
			}
		}
		if given.CheckRedirect != nil {
			t.Errorf("WithHTTPClient changed the caller's http.Client")
		}
		redirecting.Close()
	}
	if n := leaked.Load(); n > 0 {
		t.Errorf("the API key reached another server %d times", n)
	}
}

// hostile answers with status and an endless body (or, for a 200, one that
// never ends), Retry-After when set.
func hostile(t *testing.T, status int, retryAfter string) *client.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.WriteHeader(status)
		if status == http.StatusOK {
			w.Write([]byte(`{"webhooks":[`))
		}
		chunk := []byte(strings.Repeat("x", 32<<10))
		if status == http.StatusOK {
			chunk = []byte(strings.Repeat(" ", 32<<10))
		}
		for sent := 0; sent < 10<<30; sent += len(chunk) { // 10 GiB, or until the client goes
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	return client.New(srv.URL, "prefix.secret")
}

// allocated returns how many bytes f allocates (in the whole process).
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// An error with an endless body costs the client 64 KiB of it, the rest
// unread; a 200 answer past the limit is too large, not invalid JSON.
func TestHostileBodies(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := hostile(t, http.StatusInternalServerError, "")
	var err error
	if n := allocated(func() { _, err = c.Webhook(ctx, 1) }); n > 8<<20 {
		t.Errorf("an endless error body: %d MiB allocated", n>>20)
	}
	var apiErr *client.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("an endless error body: %.200v, want an *Error", err)
	}
	if apiErr.Status != 500 || len(apiErr.Message) < 60<<10 || len(apiErr.Message) > 65<<10 ||
		!strings.HasSuffix(apiErr.Message, "(cut)") {
		t.Errorf("an endless error body: %d, message of %d bytes: %.100v", apiErr.Status, len(apiErr.Message), err)
	}

	_, err = hostile(t, http.StatusOK, "").ListWebhooks(ctx, client.WebhookQuery{})
	if err == nil || !strings.Contains(err.Error(), "answer too large") {
		t.Errorf("an endless 200: %.200v, want answer too large", err)
	}
}

// A server that never answers, or stops halfway through its body, holds
// the client no longer than its context.
func TestSilentServer(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("page") != "" { // the list: headers and half a body
			w.Write([]byte(`{"webhooks":[`))
			w.(http.Flusher).Flush()
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	c := client.New(srv.URL, "prefix.secret", client.WithHTTPClient(&http.Client{})) // no timeout of its own
	for name, call := range map[string]func(context.Context) error{
		"no answer": func(ctx context.Context) error { _, err := c.Webhook(ctx, 1); return err },
		"half a body": func(ctx context.Context) error {
			_, err := c.ListWebhooks(ctx, client.WebhookQuery{})
			return err
		},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		start := time.Now()
		err := call(ctx)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
			t.Errorf("%s: %v after %v, want the context's deadline", name, err, time.Since(start))
		}
	}
}

// Retry-After comes with the error, from seconds or an HTTP date.
func TestRetryAfter(t *testing.T) {
	for _, c := range []struct {
		header   string
		min, max time.Duration
	}{
		{"", 0, 0},
		{"3", 3 * time.Second, 3 * time.Second},
		{"0", 0, 0},
		{"soon", 0, 0},
		{time.Now().Add(time.Minute).UTC().Format(http.TimeFormat), 58 * time.Second, time.Minute},
		{time.Now().Add(-time.Minute).UTC().Format(http.TimeFormat), 0, 0},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if c.header != "" {
				w.Header().Set("Retry-After", c.header)
			}
			w.WriteHeader(http.StatusTooManyRequests)
			w.Write([]byte(`{"error":"Too many requests: slow down"}`))
		}))
		_, err := client.New(srv.URL, "prefix.secret").Webhook(context.Background(), 1)
		srv.Close()
		var apiErr *client.Error
		if !errors.As(err, &apiErr) {
			t.Fatalf("Retry-After %q: %v, want an *Error", c.header, err)
		}
		if apiErr.Status != 429 || apiErr.Message != "Too many requests: slow down" || apiErr.RetryAfter < c.min || apiErr.RetryAfter > c.max {
			t.Errorf("Retry-After %q: %v, Retry-After %v, want %v to %v", c.header, err, apiErr.RetryAfter, c.min, c.max)
		}
	}
}
