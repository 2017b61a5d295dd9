package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/sqlite"
)

// TestNotifyURLs: --notify-urls (here from the config file) subscribes each
// URL to every kind once, whatever the number of starts; a bad URL stops
// serve in one line.
func TestNotifyURLs(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "hookd.conf")
	os.WriteFile(file, []byte("notify-urls = https://ops.example.com/a, https://ops.example.com/b\nnotify-debounce = 10m\n"), 0o600)
	fs := newFlagSet("serve", io.Discard)
	c := serveFlags(fs)
	if err := parseFlags(fs, []string{"--config", file}); err != nil {
		t.Fatal(err)
	}
	urls, err := parseNotifyURLs(c.notifyURLs)
	if err != nil || len(urls) != 2 || c.notifyDebounce.String() != "10m0s" {
		t.Fatalf("urls %q, %v, debounce %s", urls, err, c.notifyDebounce)
	}

	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(dir, "hookd.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	for range 2 { // two starts
		if err := subscribeNotifyURLs(ctx, store, urls, logger); err != nil {
			t.Fatal(err)
		}
	}
	subs, err := store.ListNotifications(ctx)
	if err != nil || len(subs) != 2 || subs[1].URL != "https://ops.example.com/b" || len(subs[1].Kinds) != len(hookd.NotificationKinds) {
		t.Fatalf("subscriptions %+v, %v", subs, err)
	}

	var stderr bytes.Buffer
	err = run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--database", filepath.Join(dir, "other.db"),
		"--notify-urls", "https://ops.example.com,ftp://ops.example.com"}, io.Discard, &stderr)
	want := `invalid --notify-urls "https://ops.example.com,ftp://ops.example.com": "ftp://ops.example.com" is not an absolute http or https URL without credentials`
	if err == nil || err.Error() != want {
		t.Errorf("bad URL: %v, want %s", err, want)
	}
}
