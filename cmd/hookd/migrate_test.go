package main

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// An interrupted migrate says so, and that the schema is consistent, in
// place of "context canceled", and exits with 128 plus the signal's number
// (130 after Ctrl-C, 143 after SIGTERM); any other error exits 2.
func TestMigrateInterrupted(t *testing.T) {
	for _, tc := range []struct {
		name string
		sig  syscall.Signal
		want string
	}{
		{"SIGINT while connecting", syscall.SIGINT, "migrate interrupted by SIGINT (Ctrl-C): the schema is consistent: "},
		{"SIGTERM while connecting", syscall.SIGTERM, "migrate interrupted by SIGTERM: the schema is consistent: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, accepted := silentDatabase(t)
			// The signals main stops on, caught as main catches them: the
			// signal this test sends itself ends ctx and nothing else.
			ctx, stop := signalContext(context.Background())
			defer stop()
			done := make(chan error, 1)
			go func() {
				done <- run(ctx, []string{"migrate", "--database", "postgres://hookd@" + addr + "/hookd?connect_timeout=600"}, io.Discard, io.Discard)
			}()
			select {
			case <-accepted: // migrate is connecting
			case <-time.After(30 * time.Second):
				t.Fatal("migrate did not connect to the database")
			}
			if err := syscall.Kill(os.Getpid(), tc.sig); err != nil {
				t.Fatal(err)
			}
			var err error
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("migrate did not stop on the signal")
			}
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) || strings.Contains(err.Error(), "context canceled") || strings.Contains(err.Error(), "\n") {
				t.Errorf("error:\n%v\nwant one line starting\n%s", err, tc.want)
			}
			if code := exitCode(err); code != 128+int(tc.sig) {
				t.Errorf("exit status %d, want %d", code, 128+int(tc.sig))
			}
		})
	}
	t.Run("SQLite, then again", func(t *testing.T) {
		database := filepath.Join(t.TempDir(), "hookd.db")
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // an interruption without a signal reads as Ctrl-C's
		err := run(ctx, []string{"migrate", "--database", database}, io.Discard, io.Discard)
		if err == nil || !strings.HasPrefix(err.Error(), "migrate interrupted by SIGINT (Ctrl-C): ") || exitCode(err) != 130 {
			t.Errorf("error %v, exit status %d", err, exitCode(err))
		}
		var out strings.Builder
		if err := run(context.Background(), []string{"migrate", "--database", database}, &out, io.Discard); err != nil || !strings.Contains(out.String(), "is up to date") {
			t.Errorf("migrate again: %v\n%s", err, out.String())
		}
	})
	if code := exitCode(errors.New("cannot open the database")); code != 2 {
		t.Errorf("exit status of a failure: %d, want 2", code)
	}
}
