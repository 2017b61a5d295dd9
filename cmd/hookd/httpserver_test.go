package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/delivery"
	hookdhttp "github.com/hookd/hookd/internal/http"
	"github.com/hookd/hookd/internal/sqlite/sqlitetest"
	"github.com/hookd/hookd/internal/web"
)

// The server hookd serve runs sets every limit.
func TestHTTPLimitsDefaults(t *testing.T) {
	srv := newHTTPServer(http.NotFoundHandler(), slog.New(slog.NewTextHandler(io.Discard, nil)), httpLimits{})
	if srv.ReadHeaderTimeout <= 0 || srv.ReadHeaderTimeout > 30*time.Second ||
		srv.ReadTimeout <= 0 || srv.WriteTimeout <= 0 || srv.IdleTimeout <= 0 ||
		srv.MaxHeaderBytes <= 0 || srv.MaxHeaderBytes > 1<<20 {
		t.Fatalf("limits: read header %s, read %s, write %s, idle %s, header bytes %d",
			srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout, srv.MaxHeaderBytes)
	}
}

// slowAPI runs the API and UI, as serve builds them, on 127.0.0.1 with
// short timeouts, and returns its address, an admin key and the store.
func slowAPI(t *testing.T, limits httpLimits) (addr, key string, store hookd.Store) {
	addr, key, store, _ = cappedAPI(t, limits, maxConnectionsCeiling)
	return addr, key, store
}

// cappedAPI is slowAPI with at most maxConns connections open, and the
// listener that counts them.
func cappedAPI(t *testing.T, limits httpLimits, maxConns int) (addr, key string, store hookd.Store, ln *connLimiter) {
	t.Helper()
	ctx := context.Background()
	st := sqlitetest.Open(t)
	key, err := hookd.IssueAPIKey(ctx, st, hookd.DefaultUserID, "slow", hookd.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := newHTTPServer(web.Mount(hookdhttp.NewServer(st, logger)), logger, limits)
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln = limitConnections(tcp, srv, maxConns, logger, hookd.SystemClock)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), key, st, ln
}

// closedWithin reports how long until the server hung up on c, reading
// what it sends meanwhile, or false when it kept c open for limit.
func closedWithin(c net.Conn, limit time.Duration) (time.Duration, []byte, bool) {
	start := time.Now()
	c.SetReadDeadline(start.Add(limit))
	got, err := io.ReadAll(c)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return 0, got, false
	}
	return time.Since(start), got, true
}

// trickle writes s to c a byte every interval until done, c fails or s
// ends.
func trickle(c net.Conn, s string, interval time.Duration, done <-chan struct{}) {
	for i := 0; i < len(s); i++ {
		if _, err := c.Write([]byte{s[i]}); err != nil {
			return
		}
		select {
		case <-done:
			return
		case <-time.After(interval):
		}
	}
}

func TestSlowClients(t *testing.T) {
	// Far enough apart that each test tells which limit cut it off.
	limits := httpLimits{ReadHeader: 300 * time.Millisecond, Read: 2500 * time.Millisecond, Idle: 300 * time.Millisecond}
	const slack = time.Second // a loaded machine fires timers late
	addr, key, store := slowAPI(t, limits)
	dial := func(t *testing.T) net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}

	// Slowloris: request headers a byte every 50 ms, never finished. The
	// server hangs up once ReadHeader is over.
	t.Run("slow headers", func(t *testing.T) {
		c := dial(t)
		done := make(chan struct{})
		defer close(done)
		go trickle(c, "GET /api/v2/admin/webhooks HTTP/1.1\r\nHost: hookd\r\nX-API-KEY: "+key+"\r\nX-Slow: "+strings.Repeat("a", 200), 50*time.Millisecond, done)
		took, _, closed := closedWithin(c, 3*time.Second)
		if !closed {
			t.Fatal("a client sending its headers a byte every 50 ms kept the connection for 3 s")
		}
		if took > limits.ReadHeader+slack {
			t.Errorf("cut off after %s, ReadHeader is %s", took, limits.ReadHeader)
		}
		t.Logf("slowloris client cut off after %s", took.Round(time.Millisecond))
	})

	// A body trickled in: the request is cut off at Read, and the event it
	// was carrying is not stored.
	t.Run("slow body", func(t *testing.T) {
		c := dial(t)
		body := `{"id":"evt_slow","event":"ASSET_ADDED","data":{"pad":"` + strings.Repeat("a", 200) + `"}}`
		head := "POST /api/v2/events HTTP/1.1\r\nHost: hookd\r\nX-API-KEY: " + key +
			"\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n"
		if _, err := io.WriteString(c, head); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		defer close(done)
		go trickle(c, body, 50*time.Millisecond, done)
		took, got, closed := closedWithin(c, 5*time.Second)
		if !closed {
			t.Fatal("a client trickling its body kept the connection for 5 s")
		}
		if took > limits.Read+slack {
			t.Errorf("cut off after %s, Read is %s", took, limits.Read)
		}
		if len(got) > 0 && !strings.HasPrefix(string(got), "HTTP/1.1 4") {
			t.Errorf("answer to a cut-off request: %q", got)
		}
		t.Logf("slow body cut off after %s, answered %q", took.Round(time.Millisecond), firstLine(got))
		pub, err := store.PublishEvents(context.Background(), []*hookd.Event{{ID: "evt_slow", Event: "ASSET_ADDED", Data: json.RawMessage(`{}`)}})
		if err != nil {
			t.Fatal(err)
		}
		if pub[0].Duplicate {
			t.Error("the event of the cut-off request was stored")
		}
	})

	// An idle keep-alive connection is closed after Idle.
	t.Run("idle connection", func(t *testing.T) {
		c := dial(t)
		io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: hookd\r\n\r\n")
		r := bufio.NewReader(c)
		res, err := http.ReadResponse(r, nil)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("healthz: %v %v", res, err)
		}
		io.Copy(io.Discard, res.Body)
		start := time.Now()
		c.SetReadDeadline(start.Add(3 * time.Second))
		if _, err := r.ReadByte(); err == nil {
			t.Fatal("the server sent more than its answer")
		} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatal("an idle connection stayed open for 3 s")
		}
		if took := time.Since(start); took > limits.Idle+slack {
			t.Errorf("idle connection closed after %s, Idle is %s", took, limits.Idle)
		}
	})

	// Request headers over the limit: 431, and the request does not run.
	t.Run("huge headers", func(t *testing.T) {
		c := dial(t)
		req := "POST /api/v2/events HTTP/1.1\r\nHost: hookd\r\nX-API-KEY: " + key +
			"\r\nContent-Type: application/json\r\nX-Pad: " + strings.Repeat("a", 100<<10) + "\r\nContent-Length: 2\r\n\r\n{}"
		go io.WriteString(c, req)
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("status %d, want 431", res.StatusCode)
		}
	})
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(string(b), "\r\n")
	return s
}

// serve limits the API's callers by default, and newService wires the
// limit into the API it serves.
func TestServeRateLimit(t *testing.T) {
	fs := newFlagSet("serve", io.Discard)
	c := serveFlags(fs)
	if err := parseFlags(fs, nil); err != nil {
		t.Fatal(err)
	}
	if want := hookdhttp.DefaultRateLimits; c.rateLimit != want {
		t.Errorf("default rate limit %+v, want %+v", c.rateLimit, want)
	}

	ctx := context.Background()
	st := sqlitetest.Open(t)
	key, err := hookd.IssueAPIKey(ctx, st, hookd.DefaultUserID, "limited", hookd.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := newService(st, serviceOptions{
		logger: slog.New(slog.NewTextHandler(io.Discard, nil)), schedule: delivery.DefaultSchedule(),
		concurrency: 1, timeout: time.Second, lease: time.Minute, rateLimit: hookdhttp.RateLimit{PerSecond: 1, Burst: 2},
		clock: hookd.SystemClock,
	})
	if err != nil {
		t.Fatal(err)
	}
	var codes []int
	for i := 0; i < 3; i++ {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/api/v2/admin/webhooks", nil)
		req.Header.Set("X-API-KEY", key)
		svc.server.Handler.ServeHTTP(rec, req)
		codes = append(codes, rec.Code)
		if rec.Code == http.StatusTooManyRequests && rec.Header().Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
	}
	if codes[0] != 200 || codes[1] != 200 || codes[2] != http.StatusTooManyRequests {
		t.Errorf("statuses %v with 1 request a second, bursts of 2; want [200 200 429]", codes)
	}
}

// Clients that open connections and never finish a request cannot take
// every connection (and descriptor) of the process: past the cap, the
// ones that waited longest are closed, and health checks and API calls
// still get in.
func TestConnectionCapSparesHealthChecks(t *testing.T) {
	const maxConns, attackers = 50, 200
	// Headers may take a minute: the cap, not the timeout, must free the
	// connections.
	addr, key, _, ln := cappedAPI(t, httpLimits{ReadHeader: time.Minute}, maxConns)
	var held []net.Conn
	for i := 0; i < attackers; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		defer c.Close()
		if _, err := io.WriteString(c, "GET /readyz HTTP/1.1\r\nHost: hookd\r\nX-Half: sent"); err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}

	hc := &http.Client{Timeout: 30 * time.Second}
	for _, path := range []string{"/healthz", "/readyz", "/api/v2/admin/webhooks"} {
		req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
		req.Header.Set("X-API-KEY", key)
		res, err := hc.Do(req)
		if err != nil {
			t.Fatalf("GET %s beside %d half-sent requests: %v", path, attackers, err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("GET %s: %d", path, res.StatusCode)
		}
	}
	if open := ln.Open(); open > maxConns {
		t.Errorf("%d connections open, the cap is %d", open, maxConns)
	}

	// The connections accepted beyond the cap were closed: the oldest
	// half-sent ones, each read at once as closed.
	closed := make(chan bool, attackers)
	for _, c := range held {
		go func() {
			c.SetReadDeadline(time.Now().Add(2 * time.Second))
			_, err := c.Read(make([]byte, 1))
			ne, isNetErr := err.(net.Error)
			closed <- err != nil && !(isNetErr && ne.Timeout())
		}()
	}
	n := 0
	for range held {
		if <-closed {
			n++
		}
	}
	if n < attackers-maxConns {
		t.Errorf("%d of %d half-sent connections were closed, want at least %d", n, attackers, attackers-maxConns)
	}
}

// When every connection runs a request, a new one waits for a place
// instead of going beyond the cap, and is served once a request ends.
func TestConnectionCapWaitsForBusyConnections(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 3)
	srv := newHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		if r.URL.Path == "/slow" {
			<-release
		}
	}), slog.New(slog.NewTextHandler(io.Discard, nil)), httpLimits{})
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := limitConnections(tcp, srv, 2, slog.New(slog.NewTextHandler(io.Discard, nil)), hookd.SystemClock)
	go srv.Serve(ln)
	defer srv.Close()
	url := "http://" + ln.Addr().String()

	get := func(path string, done chan<- error) {
		// A transport of its own: each request on a connection of its own.
		res, err := (&http.Client{Transport: &http.Transport{}, Timeout: 30 * time.Second}).Get(url + path)
		if err == nil {
			res.Body.Close()
			if res.StatusCode != 200 {
				err = fmt.Errorf("status %d", res.StatusCode)
			}
		}
		done <- err
	}
	slow := make(chan error, 2)
	go get("/slow", slow)
	go get("/slow", slow)
	<-started
	<-started
	fast := make(chan error, 1)
	go get("/fast", fast)
	select {
	case <-started:
		t.Fatal("a third request ran beside two on a cap of 2")
	case <-time.After(200 * time.Millisecond):
	}
	if open := ln.Open(); open != 2 {
		t.Errorf("%d connections open, the cap is 2", open)
	}
	close(release)
	for _, done := range []chan error{slow, slow, fast} {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// The default cap leaves descriptors for the deliveries and the database.
func TestDefaultMaxConnections(t *testing.T) {
	for _, tc := range []struct {
		nofile      uint64
		concurrency int
		want        int
	}{
		{20000, 256, 10000}, // the ceiling
		{4096, 256, 3072},   // 4096 - 3*256 - 256
		{1024, 256, 64},     // the floor
		{1 << 20, 256, 10000},
		{4096, 1000, 840},
	} {
		if got := defaultMaxConnections(tc.nofile, tc.concurrency); got != tc.want {
			t.Errorf("defaultMaxConnections(%d, %d) = %d, want %d", tc.nofile, tc.concurrency, got, tc.want)
		}
	}
}

// serve caps its connections at --max-connections, and by default at
// what the open-file limit leaves.
func TestServeMaxConnections(t *testing.T) {
	database := filepath.Join(t.TempDir(), "hookd.db")
	t.Run("default", func(t *testing.T) {
		nofile, err := openFileLimit()
		if err != nil {
			t.Fatal(err)
		}
		_, logs := startServe(t, "--database", database)
		if want := fmt.Sprintf(" max_connections=%d\n", defaultMaxConnections(nofile, 256)); !strings.Contains(logs.String(), want) {
			t.Errorf("want %q in the log:\n%s", want, logs.String())
		}
	})
	t.Run("set", func(t *testing.T) {
		const maxConns, held = 5, 20
		url, _ := startServe(t, "--database", database, "--max-connections", strconv.Itoa(maxConns))
		var conns []net.Conn
		for range held {
			c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			io.WriteString(c, "GET /readyz HTTP/1.1\r\n")
			conns = append(conns, c)
		}
		res, err := (&http.Client{Timeout: 30 * time.Second}).Get(url + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		closed := 0
		for _, c := range conns {
			c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
			if _, err := c.Read(make([]byte, 1)); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
				closed++
			}
		}
		if closed < held-maxConns {
			t.Errorf("%d of %d half-sent connections closed, want at least %d", closed, held, held-maxConns)
		}
	})
}
