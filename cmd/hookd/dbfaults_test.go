package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
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

// TestDatabaseOpenErrors starts serve with databases it cannot use, and
// with a bad --addr: each stops it at once with one line that names the
// database (or the address), says what is wrong and what to do, and
// creates nothing.
func TestDatabaseOpenErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "a-file")
	if err := os.WriteFile(file, []byte(strings.Repeat("not a database\n", 300)), 0o600); err != nil {
		t.Fatal(err)
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	db := filepath.Join(dir, "hookd.db")
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"missing directory", []string{"--database", filepath.Join(dir, "x", "y.db")},
			"cannot open the SQLite database " + filepath.Join(dir, "x", "y.db") + ": the directory " + filepath.Join(dir, "x") + " does not exist (create it, or choose another --database)"},
		{"missing directories", []string{"--database", filepath.Join(dir, "x", "z", "y.db")},
			"the directory " + filepath.Join(dir, "x", "z") + " does not exist (create it, or choose another --database)"},
		{"path is a directory", []string{"--database", dir},
			"cannot open the SQLite database " + dir + ": it is a directory (give the path of a file in it, e.g. " + filepath.Join(dir, "hookd.db") + ", as --database)"},
		{"parent is a file", []string{"--database", filepath.Join(file, "hookd.db")},
			"cannot open the SQLite database " + filepath.Join(file, "hookd.db") + ": " + file + " is a file, not a directory (choose another --database)"},
		{"not a database file", []string{"--database", file}, "cannot open the SQLite database " + file + ": it is not a hookd database, or it is damaged"},
		{"another database's URL", []string{"--database", "mysql://hookd:secret@127.0.0.1/hookd"},
			"--database mysql://hookd:xxxxx@127.0.0.1/hookd: mysql:// is not a database hookd can use: give a SQLite file path or a postgres:// URL"},
		{"bad --addr", []string{"--database", db, "--addr", "localhost:http-alt-x"}, "cannot listen on --addr localhost:http-alt-x: "},
		{"--addr in use", []string{"--database", db, "--addr", busy.Addr().String()}, "cannot listen on --addr " + busy.Addr().String() + ": "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err := run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, tc.args...), io.Discard, io.Discard)
			if err == nil {
				t.Fatal("serve started")
			}
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error:\n%s\nwant one line containing\n%s", err, tc.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error shows the password: %s", err)
			}
			if _, err := os.Stat(db); err == nil {
				t.Errorf("%s was created", db)
			}
		})
	}
}

// serveUnprivileged runs the hookd binary with args as a user that file
// permissions bind (the tests may run as root, which they do not): as
// nobody when the test runs as root. It returns what hookd printed and its
// exit status.
func serveUnprivileged(t *testing.T, args ...string) (output string, status int) {
	t.Helper()
	bin := buildHookd(t)
	// A hookd that starts is stopped: the test fails, rather than hangs.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	if os.Geteuid() == 0 {
		os.Chmod(filepath.Dir(bin), 0o755) // MkdirTemp's 0700 keeps nobody out
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("hookd serve %v: %v, want it to exit with an error\n%s", args, err, out)
	}
	return string(out), exit.ExitCode()
}

// reachableDir returns a new directory that the user of serveUnprivileged
// can reach (t.TempDir's are its owner's only).
func reachableDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { os.Chmod(dir, 0o755) }) // so that it can be removed
	return dir
}

// TestSQLiteNotWritable starts the hookd binary on SQLite files that its
// user may not write: each stops serve with exit status 2 and one line
// that names the file, says what is wrong and what to do. A read-only
// database file used to start, answer ready, and fail every write.
func TestSQLiteNotWritable(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs hookd")
	}
	migrated := func(t *testing.T, dir string) string {
		db := filepath.Join(dir, "hookd.db")
		if err := run(context.Background(), []string{"migrate", "--database", db}, io.Discard, io.Discard); err != nil {
			t.Fatal(err)
		}
		return db
	}
	uid := os.Geteuid()
	if uid == 0 {
		uid = 65534
	}
	cases := []struct {
		name  string
		setup func(t *testing.T) string // returns --database
		want  func(db string) string
	}{
		{"read-only file", func(t *testing.T) string {
			dir := reachableDir(t)
			db := migrated(t, dir)
			os.Chmod(db, 0o444)
			os.Chmod(dir, 0o777) // SQLite may create its -wal and -shm files beside it
			return db
		}, func(db string) string {
			return fmt.Sprintf("hookd: cannot write the SQLite database %s: it is read-only for the user running hookd (uid %d) (make the file and its directory writable for it, or choose another --database)", db, uid)
		}},
		{"directory not writable", func(t *testing.T) string {
			dir := reachableDir(t)
			os.Chmod(dir, 0o555)
			return filepath.Join(dir, "hookd.db")
		}, func(db string) string {
			return fmt.Sprintf("hookd: cannot open the SQLite database %s: permission denied to create files in the directory %s (let the user running hookd, uid %d, write there, or choose another --database)", db, filepath.Dir(db), uid)
		}},
		{"file not readable", func(t *testing.T) string {
			dir := reachableDir(t)
			db := migrated(t, dir)
			os.Chmod(db, 0)
			return db
		}, func(db string) string {
			return fmt.Sprintf("hookd: cannot open the SQLite database %s: permission denied (let the user running hookd, uid %d, read and write it, or choose another --database)", db, uid)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db := tc.setup(t)
			out, status := serveUnprivileged(t, "--database", db)
			if want := tc.want(db); strings.TrimSpace(out) != want || status != 2 {
				t.Errorf("exit status %d, output:\n%s\nwant 2 and the one line\n%s", status, out, want)
			}
		})
	}
}

// TestPostgresOpenErrors starts serve on PostgreSQL databases it cannot
// use: each stops it with one line that says what is wrong and what to do.
func TestPostgresOpenErrors(t *testing.T) {
	missing := pgtest.URLFor(t, "hookd_no_such_schema") // skips without PostgreSQL
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "postgres://hookd:secret@" + ln.Addr().String() + "/hookd"
	ln.Close() // nothing listens there now
	cases := []struct{ name, database, want string }{
		{"search_path names no schema", missing, "cannot use the PostgreSQL database " + missing +
			": no schema of its search_path (hookd_no_such_schema) exists (create it with CREATE SCHEMA, or set search_path= in --database to an existing schema)"},
		{"nothing listens", closed, "cannot reach the PostgreSQL database postgres://hookd:xxxxx@" + ln.Addr().String() + "/hookd: "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err := run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--database", tc.database}, io.Discard, io.Discard)
			if err == nil {
				t.Fatal("serve started")
			}
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), "secret") {
				t.Errorf("error:\n%s\nwant one line, without the password, containing\n%s", err, tc.want)
			}
		})
	}
}

// TestSQLiteDiskFull runs the hookd binary with its SQLite database on a
// small filesystem of its own (a tmpfs in a mount namespace of its own,
// which needs root), fills that filesystem, and publishes until a publish
// fails. hookd may accept some first: the WAL starts over in the room its
// file already has once the checkpointer has copied it back. Then a
// publish answers 503 with Retry-After (never another error), /readyz
// answers 503 (it used to answer 200 while every publish failed with
// "database or disk is full"), both answer 200 again once there is room,
// and every event accepted while the disk was full is still there.
func TestSQLiteDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs hookd")
	}
	if os.Geteuid() != 0 {
		t.Skip("mounting a small filesystem needs root")
	}
	bin := buildHookd(t)
	mnt := t.TempDir()
	addr := freeAddr(t)
	// unshare and sh exec: the pid is hookd's.
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c",
		`mount -t tmpfs -o size=2m hookd-full "$1" && exec "$2" serve --addr "$3" --database "$1/hookd.db" --admin-api-key "$4"`,
		"sh", mnt, bin, addr, testAdminKey)
	var logs syncBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Skipf("unshare: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("hookd log:\n%s", logs.String())
		}
	})
	url := "http://" + addr
	get := func(path string) int {
		res, err := http.Get(url + path)
		if err != nil {
			return 0
		}
		res.Body.Close()
		return res.StatusCode
	}
	publish := func(id string) (int, http.Header, string) {
		req, _ := http.NewRequest("POST", url+"/api/v2/events", strings.NewReader(`{"id":"`+id+`","event":"ASSET_ADDED","data":{"pad":"`+strings.Repeat("x", 8000)+`"}}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-API-KEY", testAdminKey)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("publish: %v", err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res.StatusCode, res.Header, string(body)
	}
	deadline := time.Now().Add(30 * time.Second)
	for get("/readyz") != 200 {
		if time.Now().After(deadline) {
			t.Skipf("hookd on a tmpfs did not become ready (mounting may not be allowed here)\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if status, _, _ := publish("evt_full_0"); status != 200 {
		t.Fatalf("publish with room: %d", status)
	}

	// Fill the filesystem, as hookd's process sees it.
	filler := fmt.Sprintf("/proc/%d/root%s/filler", cmd.Process.Pid, mnt)
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling the disk: %v", err)
			}
			break
		}
	}
	f.Close()

	// Publish until a publish fails and /readyz, asked then, agrees (a
	// write as small as its check may still fit in the room a failed
	// publish left in the log's file). The 2 MB are gone within a few
	// hundred events of 8 KB.
	var accepted []string
	full := false
	for i := 1; i <= 500 && !full; i++ {
		id := fmt.Sprintf("evt_full_%d", i)
		status, header, body := publish(id)
		switch {
		case status == 200:
			accepted = append(accepted, id)
		case status != http.StatusServiceUnavailable || header.Get("Retry-After") == "":
			t.Fatalf("publish with the disk full: %d (Retry-After %q), want 503 with Retry-After: %s", status, header.Get("Retry-After"), body)
		default:
			full = get("/readyz") == http.StatusServiceUnavailable
		}
	}
	if !full {
		t.Fatalf("the disk is full, but after %d events accepted /readyz still answers 200", len(accepted))
	}
	t.Logf("%d events accepted with the disk full", len(accepted))

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if status := get("/readyz"); status != 200 {
		t.Errorf("/readyz with room again: %d, want 200", status)
	}
	if status, _, _ := publish("evt_full_again"); status != 200 {
		t.Errorf("publish with room again: %d, want 200", status)
	}
	// Nothing accepted is lost: each id is stored (a duplicate now).
	for _, id := range accepted {
		if status, _, body := publish(id); status != 200 || !strings.Contains(body, `"duplicate":true`) {
			t.Errorf("%s, accepted with the disk full, published again: %d %s, want a duplicate", id, status, body)
		}
	}
}
