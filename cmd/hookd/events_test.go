package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/hookd/hookd"
	hookdhttp "github.com/hookd/hookd/internal/http"
	"github.com/hookd/hookd/internal/sqlite"
)

// TestEventsSend publishes with "hookd events send" to a real API and
// checks what it prints.
func TestEventsSend(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hookd.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	key, err := hookd.IssueAPIKey(ctx, store, hookd.DefaultUserID, "publisher", hookd.RolePublisher)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(hookdhttp.NewServer(store, slog.New(slog.NewTextHandler(io.Discard, nil))))
	defer srv.Close()

	var stdout, stderr bytes.Buffer
	err = run(ctx, []string{"events", "send", "--server", srv.URL, "--api-key", key, "--event", "ASSET_ADDED",
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
