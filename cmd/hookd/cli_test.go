package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/client"
)

// hookd help, help <command>, --version and version answer, on stdout
// for the program's own help and version.
func TestHelpAndVersion(t *testing.T) {
	ctx := context.Background()
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}} {
		var stdout, stderr bytes.Buffer
		if err := run(ctx, args, &stdout, &stderr); err != nil || !strings.Contains(stdout.String(), "hookd serve [flags]") {
			t.Errorf("hookd %s: %v\n%s", args[0], err, stdout.String())
		}
	}
	for _, args := range [][]string{{"version"}, {"--version"}} {
		var stdout bytes.Buffer
		if err := run(ctx, args, &stdout, io.Discard); err != nil || !regexp.MustCompile(`^hookd \S+ \(commit \S+, go\S+\)\n$`).MatchString(stdout.String()) {
			t.Errorf("hookd %s: %v, printed %q", args[0], err, stdout.String())
		}
	}
	// A command's settings, each with the kind of value it takes.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"help", "serve"}, "--max-connections int"},
		{[]string{"help", "serve"}, "--timeout duration"},
		{[]string{"help", "events"}, "--server string"},
		{[]string{"events", "--help"}, "--server string"},
		{[]string{"help", "keys"}, "hookd keys revoke PREFIX|ID"},
		{[]string{"keys", "--help"}, "hookd keys create --name N [--admin]"},
		{[]string{"keys", "-h"}, "hookd keys list [--json]"},
		{[]string{"keys", "help"}, "hookd keys list [--json]"},
		{[]string{"keys", "help", "create"}, "--name string"},
		{[]string{"keys", "list", "--help"}, "--json"},
	} {
		var stderr bytes.Buffer
		err := run(ctx, tc.args, io.Discard, &stderr)
		if !errors.Is(err, flag.ErrHelp) || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("hookd %s: %v, want the settings with %q:\n%s", strings.Join(tc.args, " "), err, tc.want, stderr.String())
		}
	}
	var stderr bytes.Buffer
	if err := run(ctx, []string{"launch"}, io.Discard, &stderr); err == nil || !strings.Contains(err.Error(), `unknown command "launch" (hookd help lists the commands)`) {
		t.Errorf("unknown command: %v", err)
	}
}

// main prints an error on one line that starts with "hookd:" once, also
// for the client's errors, which start with it already.
func TestErrorLine(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&client.Error{Status: 401, Message: "Unauthorized"}, "hookd: 401 Unauthorized"},
		{errors.New("--event is required"), "hookd: --event is required"},
	} {
		if got := errorLine(tc.err); got != tc.want {
			t.Errorf("errorLine(%q) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

// A boolean setting given without a value is true, as with the flag
// package alone.
func TestBoolFlagWithoutValue(t *testing.T) {
	t.Setenv("HOOKD_METRICS", "false")
	fs := newFlagSet("serve", io.Discard)
	c := serveFlags(fs)
	if err := parseFlags(fs, []string{"--metrics"}); err != nil || !c.metrics {
		t.Errorf("--metrics: %v, metrics %v", err, c.metrics)
	}
}

// serve says at start how to get an admin key when there is none, and
// names the setting it registered one from.
func TestAdminKeyAtStart(t *testing.T) {
	const key = "startkey.admin-key-at-start-secret-0123456789"
	database := filepath.Join(t.TempDir(), "hookd.db")
	const hint = `msg="no admin API key yet: set --admin-api-key (or HOOKD_ADMIN_API_KEY) to a <prefix>.<secret> of your choosing, or create one with: hookd keys create --name NAME --admin"`
	t.Run("none", func(t *testing.T) {
		_, logs := startServe(t, "--database", database)
		if !strings.Contains(logs.String(), hint) {
			t.Errorf("no hint in the log:\n%s", logs.String())
		}
	})
	t.Run("from the environment", func(t *testing.T) {
		t.Setenv("HOOKD_ADMIN_API_KEY", key)
		_, logs := startServe(t, "--database", database)
		if !strings.Contains(logs.String(), `msg="registered the admin key of HOOKD_ADMIN_API_KEY"`) {
			t.Errorf("log:\n%s", logs.String())
		}
	})
	t.Run("stored", func(t *testing.T) {
		_, logs := startServe(t, "--database", database)
		if strings.Contains(logs.String(), "no admin API key yet") {
			t.Errorf("hint with an admin key stored:\n%s", logs.String())
		}
	})
	t.Run("from the flag, another secret", func(t *testing.T) {
		_, logs := startServe(t, "--database", database, "--admin-api-key", "startkey.another-secret-0123456789abcdef")
		if !strings.Contains(logs.String(), `msg="revoked the admin key that --admin-api-key (HOOKD_ADMIN_API_KEY) replaced" key_prefix=startkey`) ||
			!strings.Contains(logs.String(), `msg="registered the admin key of --admin-api-key" key_prefix=startkey`) {
			t.Errorf("log:\n%s", logs.String())
		}
	})
}

// hookd receive prints each request it gets, on one line, and answers it
// with --status.
func TestReceive(t *testing.T) {
	for _, status := range []int{200, 500} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			ctx, stop := context.WithCancel(context.Background())
			out := &syncBuffer{}
			done := make(chan error, 1)
			go func() {
				done <- run(ctx, []string{"receive", "--addr", "127.0.0.1:0", "--status", strconv.Itoa(status)}, out, io.Discard)
			}()
			defer func() {
				stop()
				if err := <-done; err != nil {
					t.Errorf("receive: %v", err)
				}
			}()
			var url string
			for deadline := time.Now().Add(10 * time.Second); url == ""; time.Sleep(10 * time.Millisecond) {
				if m := regexp.MustCompile(`^receiving on (http://127\.0\.0\.1:\d+/) and answering \d+ \(Ctrl-C stops\)\n`).FindStringSubmatch(out.String()); m != nil {
					url = m[1]
				} else if time.Now().After(deadline) {
					t.Fatalf("receive printed %q", out.String())
				}
			}
			req, _ := http.NewRequest("POST", url+"hook?x=1", strings.NewReader(`{"event":"ASSET_ADDED"}`))
			req.Header.Set("webhook-id", "msg_1")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != status {
				t.Errorf("answered %d, want %d", res.StatusCode, status)
			}
			want := regexp.MustCompile(`\n\d\d:\d\d:\d\d\.\d{3} POST /hook\?x=1 webhook-id=msg_1 answered ` + strconv.Itoa(status) + `: \{"event":"ASSET_ADDED"\}\n$`)
			if !want.MatchString(out.String()) {
				t.Errorf("printed %q", out.String())
			}
		})
	}
	if err := run(context.Background(), []string{"receive", "--status", "99"}, io.Discard, io.Discard); err == nil ||
		err.Error() != `invalid --status "99": use an HTTP status from 200 to 599` {
		t.Errorf("--status 99: %v", err)
	}
}

// TestTuneGC: hookd collects at gcPercent unless GOGC is set, which wins.
func TestTuneGC(t *testing.T) {
	prev := debug.SetGCPercent(100)
	defer debug.SetGCPercent(prev)
	tuneGC(func(string) (string, bool) { return "", false })
	if got := debug.SetGCPercent(100); got != gcPercent {
		t.Errorf("without GOGC: GC percent %d, want %d", got, gcPercent)
	}
	tuneGC(func(k string) (string, bool) { return "100", k == "GOGC" })
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("with GOGC=100: GC percent %d, want it left at 100", got)
	}
}
