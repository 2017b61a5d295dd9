package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// silentDatabase listens on 127.0.0.1 as a PostgreSQL server that takes
// connections and never answers. accepted gets a value for each
// connection it takes.
func silentDatabase(t *testing.T) (addr string, accepted <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan struct{}, 64)
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String(), ch
}

// A database that takes connections and never answers stops serve,
// migrate and keys at start with one line that says so, after the connect
// timeout (derived from --database-timeout, or the URL's connect_timeout),
// rather than holding them for ever.
func TestDatabaseThatNeverAnswers(t *testing.T) {
	addr, _ := silentDatabase(t)
	url := "postgres://hookd:secret@" + addr + "/hookd"
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"serve", []string{"serve", "--addr", "127.0.0.1:0", "--database", url, "--database-timeout", "100ms"},
			"cannot reach the PostgreSQL database postgres://hookd:xxxxx@" + addr + "/hookd: no answer within 2s: "},
		{"migrate", []string{"migrate", "--database", url + "?connect_timeout=1"},
			"cannot reach the PostgreSQL database postgres://hookd:xxxxx@" + addr + "/hookd?connect_timeout=1: no answer within 1s: "},
		{"keys list", []string{"keys", "list", "--database", url + "?connect_timeout=1"},
			"cannot reach the PostgreSQL database postgres://hookd:xxxxx@" + addr + "/hookd?connect_timeout=1: no answer within 1s: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- run(ctx, tc.args, io.Discard, io.Discard) }()
			var err error
			select {
			case err = <-done:
			case <-time.After(time.Minute): // a guard against a hang, far beyond the bound
				t.Fatal("still waiting for the database after a minute")
			}
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) || !strings.HasSuffix(err.Error(), "connect_timeout= in it sets how long to wait, in seconds)") ||
				strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), "secret") {
				t.Errorf("error:\n%v\nwant one line starting\n%s", err, tc.want)
			}
		})
	}
}

// A signal while serve starts stops it quietly, with exit status 0: it is
// no failure to open the database.
func TestSignalWhileStarting(t *testing.T) {
	t.Run("SQLite, in process", func(t *testing.T) {
		database := filepath.Join(t.TempDir(), "hookd.db")
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // Ctrl-C before the database is open
		logs := &syncBuffer{}
		if err := run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--database", database}, io.Discard, logs); err != nil {
			t.Errorf("serve interrupted while starting: %v, want nil", err)
		}
	})
	t.Run("PostgreSQL that does not answer, SIGTERM", func(t *testing.T) {
		if testing.Short() {
			t.Skip("builds hookd")
		}
		bin := buildHookd(t)
		addr, accepted := silentDatabase(t)
		cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--database", "postgres://hookd@"+addr+"/hookd?connect_timeout=600")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waited := false
		defer func() {
			if !waited {
				cmd.Process.Kill()
				cmd.Wait()
			}
		}()
		select {
		case <-accepted: // serve is connecting
		case <-time.After(30 * time.Second):
			t.Fatal("serve did not connect to the database")
		}
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		var err error
		select {
		case err = <-exited:
			waited = true
		case <-time.After(30 * time.Second):
			t.Fatal("serve did not stop on SIGTERM")
		}
		if err != nil {
			t.Errorf("exit: %v, want status 0", err)
		}
		if out := stderr.String(); !strings.Contains(out, `msg="stopped before start: interrupted while starting"`) ||
			strings.Contains(out, "context canceled") || strings.Contains(out, "cannot") {
			t.Errorf("stderr:\n%s", out)
		}
	})
}

// An empty HOOKD_ADDR (or --addr "") is refused: it would listen on every
// interface, on a random port, in place of the loopback default.
func TestEmptyAddrRefused(t *testing.T) {
	// A database in a directory that does not exist: serve stops there at
	// once if it gets past --addr, rather than serving.
	database := filepath.Join(t.TempDir(), "missing", "hookd.db")
	t.Setenv("HOOKD_ADDR", "")
	err := run(context.Background(), []string{"serve", "--database", database}, io.Discard, io.Discard)
	if err == nil || err.Error() != `invalid HOOKD_ADDR="": use host:port, e.g. 127.0.0.1:8080 or :8080 (empty would listen on every interface, on a random port)` {
		t.Errorf("serve with HOOKD_ADDR empty: %v", err)
	}
	err = run(context.Background(), []string{"serve", "--addr", "", "--database", database}, io.Discard, io.Discard)
	if err == nil || !strings.HasPrefix(err.Error(), `invalid --addr "": use host:port`) {
		t.Errorf("serve --addr '': %v", err)
	}
	// Stopped already: receive returns at once if it gets past --addr.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = run(ctx, []string{"receive", "--addr", ""}, io.Discard, io.Discard)
	if err == nil || !strings.HasPrefix(err.Error(), `invalid --addr "": use host:port`) {
		t.Errorf("receive --addr '': %v", err)
	}
}

// serve's environment variables are serve's: a HOOKD_ADDR exported for it
// (the Docker image sets HOOKD_ADDR=0.0.0.0:8080) does not move receive,
// and HOOKD_DATABASE does not point generate at serve's database. migrate
// and keys read HOOKD_DATABASE, as the README says; --help says which
// variables a command reads.
func TestOnlyServeReadsItsEnvironment(t *testing.T) {
	t.Setenv("HOOKD_ADDR", "0.0.0.0:8080")
	t.Setenv("HOOKD_STATUS", "500")
	t.Setenv("HOOKD_DATABASE", "/srv/serve.db")
	t.Setenv("HOOKD_NAME", "from-env")
	t.Setenv("HOOKD_JSON", "true")

	fs := newFlagSet("receive", io.Discard)
	addr, status := receiveFlags(fs)
	if err := parseFlags(fs, nil); err != nil || *addr != "127.0.0.1:9000" || *status != 200 {
		t.Errorf("receive: addr %s status %d (%v), want its defaults 127.0.0.1:9000 and 200", *addr, *status, err)
	}
	fs = newFlagSet("generate", io.Discard)
	generateDB := fs.String("database", "", "")
	asJSON := fs.Bool("json", false, "")
	if err := parseFlags(fs, nil); err != nil || *generateDB != "" || *asJSON {
		t.Errorf("generate: database %q json %v (%v), want none from the environment", *generateDB, *asJSON, err)
	}
	fs = newFlagSet("keys create", io.Discard)
	keysDB := databaseFlag(fs)
	configFlag(fs)
	name := fs.String("name", "", "")
	if err := parseFlags(fs, nil); err != nil || *keysDB != "/srv/serve.db" || *name != "" {
		t.Errorf("keys create: database %q name %q (%v), want HOOKD_DATABASE and no name", *keysDB, *name, err)
	}
	fs = newFlagSet("serve", io.Discard)
	c := serveFlags(fs)
	if err := parseFlags(fs, nil); err != nil || c.addr != "0.0.0.0:8080" || *c.database != "/srv/serve.db" {
		t.Errorf("serve: addr %s database %s (%v), want the environment's", c.addr, *c.database, err)
	}

	var stderr bytes.Buffer
	run(context.Background(), []string{"receive", "--help"}, io.Discard, &stderr)
	if out := stderr.String(); strings.Contains(out, "HOOKD_") && !strings.Contains(out, "HOOKD_ ones are serve's") || strings.Contains(out, "env HOOKD_ADDR") {
		t.Errorf("receive --help:\n%s", out)
	}
	stderr.Reset()
	run(context.Background(), []string{"keys", "create", "--help"}, io.Discard, &stderr)
	if out := stderr.String(); !strings.Contains(out, "(env HOOKD_DATABASE; default hookd.db)") || strings.Contains(out, "HOOKD_NAME") {
		t.Errorf("keys create --help:\n%s", out)
	}
}
