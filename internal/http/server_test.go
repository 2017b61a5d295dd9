package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/hookd/hookd"
	hookdhttp "github.com/hookd/hookd/internal/http"
	"github.com/hookd/hookd/internal/postgres/pgtest"
	"github.com/hookd/hookd/internal/sqlite/sqlitetest"
	"github.com/hookd/hookd/internal/storeopt"
)

// backends opens a fresh store of each kind available: SQLite always,
// PostgreSQL when HOOKD_TEST_POSTGRES_URL is set.
func backends(t *testing.T, test func(t *testing.T, store hookd.Store)) {
	backendsWith(t, nil, test)
}

// backendsWith is backends with stores opened with opts.
func backendsWith(t *testing.T, opts []storeopt.Option, test func(t *testing.T, store hookd.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		test(t, sqlitetest.Open(t, opts...))
	})
	t.Run("postgres", func(t *testing.T) {
		test(t, pgtest.Open(t, opts...))
	})
}

// testAPI is a hookd API on a real HTTP server on 127.0.0.1.
type testAPI struct {
	t         *testing.T
	store     hookd.Store
	url       string
	adminKey  string
	publisher string
}

func newTestAPI(t *testing.T, store hookd.Store, opts ...hookdhttp.Option) *testAPI {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	srv := httptest.NewServer(hookdhttp.NewServer(store, logger, opts...))
	t.Cleanup(srv.Close)
	ctx := context.Background()
	admin, err := hookd.IssueAPIKey(ctx, store, hookd.DefaultUserID, "test admin", hookd.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	publisher, err := hookd.IssueAPIKey(ctx, store, hookd.DefaultUserID, "test publisher", hookd.RolePublisher)
	if err != nil {
		t.Fatal(err)
	}
	return &testAPI{t: t, store: store, url: srv.URL, adminKey: admin, publisher: publisher}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request with the given key ("" for none) and a JSON body.
func (a *testAPI) do(method, path, key, body string) response {
	a.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, a.url+path, r)
	if err != nil {
		a.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("X-API-KEY", key)
	}
	return a.send(req)
}

func (a *testAPI) send(req *http.Request) response {
	a.t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	return response{res.StatusCode, res.Header, body}
}

var timestamp = regexp.MustCompile(`"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"`)

// normalize replaces timestamps, which the tests cannot know, with "<time>"
// after checking their format, and decodes the body for comparison.
func normalize(t *testing.T, body []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(timestamp.ReplaceAll(body, []byte(`"<time>"`)), &v); err != nil {
		t.Fatalf("answer is not JSON: %v\n%s", err, body)
	}
	return v
}

// expect checks the status and compares the body with want, a JSON text in
// which "<time>" stands for any millisecond UTC timestamp.
func expect(t *testing.T, got response, status int, want string) {
	t.Helper()
	if got.status != status {
		t.Errorf("status %d, want %d; body %s", got.status, status, got.body)
	}
	if ct := got.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	if want == "" {
		return
	}
	g, w := normalize(t, got.body), normalize(t, []byte(want))
	if !reflect.DeepEqual(g, w) {
		t.Errorf("body\n got: %s\nwant: %s", compact(got.body), compact([]byte(want)))
	}
}

func compact(b []byte) string {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return string(b)
	}
	return buf.String()
}

// webhookJSON is a webhook answer as the seed shows it, with hookd's id.
func webhookJSON(id, project string, extra ...string) string {
	fields := map[string]string{
		"id": id, "name": `"Sample Webhook"`, "http_url": `"https://example.website.com"`,
		"http_method": `"POST"`, "trigger_events": `["ASSET_ADDED"]`, "created_at": `"<time>"`,
		"updated_at": `"<time>"`, "disabled": "false", "project_id": project, "queue_length": "0",
		"retry_queue_length": "0", "latest_run": "null", "webhook_users": "[]", "webhook_headers": "[]",
	}
	for i := 0; i+1 < len(extra); i += 2 {
		fields[extra[i]] = extra[i+1]
	}
	var parts []string
	for k, v := range fields {
		parts = append(parts, `"`+k+`":`+v)
	}
	return `{"webhook":{` + strings.Join(parts, ",") + `}}`
}
