package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/hookd/hookd"
	hookdhttp "github.com/hookd/hookd/internal/http"
	"github.com/hookd/hookd/internal/sqlite/sqlitetest"
)

// TestEventsSend publishes with "hookd events send" to a real API and
// checks what it prints.
func TestEventsSend(t *testing.T) {
	ctx := context.Background()
	srv, key := publisherAPI(t)

	var stdout, stderr bytes.Buffer
	err := run(ctx, []string{"events", "send", "--server", srv.URL, "--api-key", key, "--event", "ASSET_ADDED",
		"--project", "P1", "--user", "45", "--data", `{"asset_id":"A1"}`, "--id", "e-1"}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("events send: %v\n%s", err, stderr.String())
	}
	var got map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("output is not JSON: %s", stdout.String())
	}
	if got["id"] != "e-1" || got["event"] != "ASSET_ADDED" || got["project_id"] != "P1" || got["user_id"] != 45.0 ||
		!regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`).MatchString(got["created_at"].(string)) {
		t.Errorf("printed %s", stdout.String())
	}

	err = run(ctx, []string{"events", "send", "--server", srv.URL, "--api-key", key, "--event", "NOPE"}, &stdout, &stderr)
	if err == nil || !regexp.MustCompile(`422 Invalid parameter 'event' value "NOPE"`).MatchString(err.Error()) {
		t.Errorf("unknown event: %v", err)
	}
	if err := run(ctx, []string{"events", "send", "--api-key", key, "--event", "ASSET_ADDED", "--data", "{"}, &stdout, &stderr); err == nil {
		t.Error("invalid --data accepted")
	}
}

// --server takes serve's --addr (host:port) as well as a URL; a wrong
// key, a wrong server and a wrong flag each get a message that says what
// to change.
func TestEventsSendServerAndErrors(t *testing.T) {
	ctx := context.Background()
	srv, key := publisherAPI(t)
	hostPort := strings.TrimPrefix(srv.URL, "http://")

	for _, server := range []string{hostPort, srv.URL, srv.URL + "/"} {
		var stdout bytes.Buffer
		if err := run(ctx, []string{"events", "send", "--server", server, "--api-key", key, "--event", "ASSET_ADDED"}, &stdout, io.Discard); err != nil {
			t.Errorf("--server %s: %v", server, err)
		}
	}

	closed := httptest.NewServer(nil)
	closed.Close()
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--server", "ftp://" + hostPort}, nil, `invalid --server "ftp://` + hostPort + `": use host:port or an http(s) URL`},
		{[]string{"--api-key", "nobody.wrong-secret"}, nil, "http://" + hostPort + " answered 401 Unauthorized: check --api-key (a publisher or admin key of that hookd)"},
		{nil, map[string]string{"HOOKD_API_KEY": "nobody.wrong-secret"}, "answered 401 Unauthorized: check HOOKD_API_KEY"},
		{[]string{"--server", closed.URL}, nil, "cannot reach hookd at " + closed.URL + ": "},
		{[]string{"--server", closed.URL, "--id", "evt_mine"}, nil, "send it again with --id evt_mine, and it is stored once"},
		{[]string{"--server", closed.URL}, nil, "send it again with --id evt_"},
		{[]string{"--addr", hostPort}, nil, "unknown flag --addr: did you mean --server?"},
		{[]string{"--user", "me"}, nil, `invalid --user "me": use a whole number, such as 0`},
		{[]string{"--data", "{"}, nil, `invalid --data "{": not valid JSON`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			args := append([]string{"events", "send", "--server", hostPort, "--api-key", key, "--event", "ASSET_ADDED"}, tc.args...)
			if tc.env != nil {
				args = []string{"events", "send", "--server", hostPort, "--event", "ASSET_ADDED"}
			}
			err := run(ctx, args, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if line := errorLine(err); strings.Count(line, "hookd:") != 1 {
				t.Errorf("printed as %q", line)
			}
		})
	}
}

// publisherAPI serves the API on a new SQLite database, until the test
// ends, and returns it with a publisher key.
func publisherAPI(t *testing.T) (*httptest.Server, string) {
	t.Helper()
	ctx := context.Background()
	store := sqlitetest.Open(t)
	key, err := hookd.IssueAPIKey(ctx, store, hookd.DefaultUserID, "publisher", hookd.RolePublisher)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(hookdhttp.NewServer(store, slog.New(slog.NewTextHandler(io.Discard, nil))))
	t.Cleanup(srv.Close)
	return srv, key
}
