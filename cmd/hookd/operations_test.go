package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd/api"
	"github.com/hookd/hookd/client"
)

// syncBuffer is a bytes.Buffer that the logger and the test may share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startServe runs "hookd serve" in this process, as main does, until the
// test ends, and waits until it is ready.
func startServe(t *testing.T, args ...string) (url string, logs *syncBuffer) {
	t.Helper()
	addr := freeAddr(t)
	logs = &syncBuffer{}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--addr", addr}, args...), io.Discard, logs)
	}()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		if t.Failed() {
			t.Logf("hookd log:\n%s", logs.String())
		}
	})
	url = "http://" + addr
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case err := <-done:
			t.Fatalf("serve stopped: %v\n%s", err, logs.String())
		default:
		}
		if res, err := http.Get(url + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return url, logs
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("hookd did not become ready\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// scrape reads /metrics into series ("name{labels}") and their values.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	res, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// TestMetricsAfterRealDeliveries runs hookd serve on SQLite in a temporary
// directory with receivers on 127.0.0.1 that answer 200, 500, 410 and not
// yet, publishes an event to all four (and once more with the same id),
// and checks that the counters of /metrics moved as the deliveries went:
// accepted and duplicate events, attempts by outcome and error class,
// latency histograms, the auto-disable, queue and retry-queue depth,
// database and HTTP timings. Labels carry no URL, and the debug log has one
// line per attempt and no secret.
func TestMetricsAfterRealDeliveries(t *testing.T) {
	const adminKey = "opsadmin.metrics-test-secret-0123456789"
	const hiddenValue = "hidden-header-value-never-logged"
	release := make(chan struct{})
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
		case "/fail":
			w.WriteHeader(http.StatusInternalServerError)
		case "/gone":
			w.WriteHeader(http.StatusGone)
		case "/slow":
			<-release
		}
	}))
	defer receiver.Close()
	defer close(release) // before the server stops: let the slow attempt end

	url, logs := startServe(t, "--database", filepath.Join(t.TempDir(), "hookd.db"), "--admin-api-key", adminKey,
		"--allow-private", "127.0.0.0/8", "--retry-schedule", "1h", "--timeout", "10s", "--shutdown-grace", "2s",
		"--log-level", "debug")
	ctx := context.Background()
	c := client.New(url, adminKey)
	ids := map[string]int64{}
	for _, name := range []string{"ok", "fail", "gone", "slow"} {
		w, err := c.CreateWebhook(ctx, api.NewWebhook{Name: name, HTTPURL: receiver.URL + "/" + name,
			HTTPMethod: "POST", TriggerEvents: []string{"ASSET_ADDED"}})
		if err != nil {
			t.Fatal(err)
		}
		ids[name] = w.ID
	}
	if _, err := c.AddHeader(ctx, ids["ok"], api.NewHeader{HeaderKey: "X-Token", HeaderValue: hiddenValue, Hidden: true}); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second is a duplicate
		if _, err := c.Publish(ctx, &api.Event{ID: "evt-metrics-1", Event: "ASSET_ADDED", Data: json.RawMessage(`{"n":1}`)}); err != nil {
			t.Fatal(err)
		}
	}

	// Wait until the three answered attempts are recorded.
	deadline := time.Now().Add(15 * time.Second)
	for {
		ok, _ := c.SuccessLog(ctx, ids["ok"], 1, 10)
		fail, _ := c.FailedLog(ctx, ids["fail"], 1, 10)
		gone, _ := c.FailedLog(ctx, ids["gone"], 1, 10)
		if len(ok) == 1 && len(fail) == 1 && len(gone) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("attempts not recorded: %d success, %d failed, %d gone", len(ok), len(fail), len(gone))
		}
		time.Sleep(20 * time.Millisecond)
	}

	m := scrape(t, url)
	want := map[string]float64{
		`hookd_events_accepted_total`:                                           1,
		`hookd_events_duplicate_total`:                                          1,
		`hookd_deliveries_queued_total`:                                         4,
		`hookd_delivery_attempts_total{error_class="none",outcome="success"}`:   1,
		`hookd_delivery_attempts_total{error_class="status",outcome="retry"}`:   1,
		`hookd_delivery_attempts_total{error_class="gone",outcome="failed"}`:    1,
		`hookd_delivery_attempts_total{error_class="timeout",outcome="failed"}`: 0,
		`hookd_delivery_attempt_duration_seconds_count{outcome="success"}`:      1,
		`hookd_delivery_attempt_duration_seconds_count{outcome="retry"}`:        1,
		`hookd_delivery_attempt_duration_seconds_count{outcome="failed"}`:       1,
		`hookd_webhooks_auto_disabled_total{reason="gone"}`:                     1,
		`hookd_webhooks_auto_disabled_total{reason="failing"}`:                  0,
		`hookd_queue_length`:               1, // the slow one, in flight
		`hookd_retry_queue_length`:         1, // the 500
		`hookd_webhooks{state="enabled"}`:  3,
		`hookd_webhooks{state="disabled"}`: 1,
		`hookd_http_requests_total{code="200",method="POST",route="/api/v2/events"}`: 2,
	}
	for series, v := range want {
		got, ok := m[series]
		if !ok {
			t.Errorf("%s missing from /metrics", series)
		} else if got != v {
			t.Errorf("%s = %v, want %v", series, got, v)
		}
	}
	// Statements are timed at the driver, by verb and table.
	for _, op := range []string{"update deliveries", "insert attempts", "insert events", "select api_keys", "select webhooks", "begin", "commit"} {
		if n := m[`hookd_db_operation_duration_seconds_count{operation="`+op+`"}`]; n < 1 {
			t.Errorf("database operation %s not timed (count %v)", op, n)
		}
	}
	if m[`hookd_http_request_duration_seconds_count{method="POST",route="/api/v2/admin/webhooks"}`] != 4 {
		t.Errorf("POST /api/v2/admin/webhooks requests timed: %v, want 4", m[`hookd_http_request_duration_seconds_count{method="POST",route="/api/v2/admin/webhooks"}`])
	}
	var buildInfo bool
	for series := range m {
		if strings.Contains(series, "127.0.0.1") || strings.Contains(series, "http://") || strings.Contains(series, "evt-metrics") {
			t.Errorf("a label holds a URL or an id: %s", series)
		}
		buildInfo = buildInfo || strings.HasPrefix(series, "hookd_build_info{")
	}
	if !buildInfo {
		t.Error("hookd_build_info missing")
	}

	// One debug line per attempt, and no secret anywhere in the log.
	out := logs.String()
	if n := strings.Count(out, `msg="delivery attempt`); n != 3 {
		t.Errorf("%d attempt log lines, want 3 (the slow attempt is still running)\n%s", n, out)
	}
	if !regexp.MustCompile(`level=DEBUG msg="delivery attempt" .*webhook=` + strconv.FormatInt(ids["ok"], 10) + ` .*status=200`).MatchString(out) {
		t.Errorf("no debug line for the successful attempt\n%s", out)
	}
	for _, secret := range []string{hiddenValue, "metrics-test-secret", "whsec_", receiver.URL + "/"} {
		if strings.Contains(out, secret) {
			t.Errorf("the log contains %q", secret)
		}
	}
}

// TestConfigPrecedence checks flag > environment > file > default.
func TestConfigPrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "hookd.conf")
	os.WriteFile(file, []byte(`# hookd settings
addr = 127.0.0.1:1111
retry-schedule = 1s,2s
concurrency = 7
log-format = "json"

timeout=3s
`), 0o600)
	t.Setenv("HOOKD_CONCURRENCY", "9")
	t.Setenv("HOOKD_TIMEOUT", "4s")
	fs := newFlagSet("serve", io.Discard)
	c := serveFlags(fs)
	if err := parseFlags(fs, []string{"--config", file, "--timeout", "5s"}); err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintf("addr=%s retry=%s concurrency=%d timeout=%s format=%s lease=%s",
		c.addr, c.retrySchedule, c.concurrency, c.timeout, c.log.format, c.lease)
	want := "addr=127.0.0.1:1111 retry=1s,2s concurrency=9 timeout=5s format=json lease=1m0s"
	if got != want {
		t.Errorf("settings:\n got %s\nwant %s", got, want)
	}

	// HOOKD_CONFIG names the file when --config does not.
	t.Setenv("HOOKD_CONFIG", file)
	fs = newFlagSet("serve", io.Discard)
	c = serveFlags(fs)
	if err := parseFlags(fs, nil); err != nil {
		t.Fatal(err)
	}
	if c.addr != "127.0.0.1:1111" {
		t.Errorf("HOOKD_CONFIG not read: addr %s", c.addr)
	}

	// migrate reads serve's file and keeps what it needs.
	os.WriteFile(file, []byte("database = /tmp/x.db\nconcurrency = 3\n"), 0o600)
	fs = newFlagSet("migrate", io.Discard)
	database := databaseFlag(fs)
	configFlag(fs)
	if err := parseFlags(fs, []string{"--config=" + file}); err != nil || *database != "/tmp/x.db" {
		t.Errorf("migrate with serve's config: database %q, %v", *database, err)
	}

	// The last --config wins, as with every flag, whatever comes between.
	first, last := filepath.Join(t.TempDir(), "first.conf"), filepath.Join(t.TempDir(), "last.conf")
	os.WriteFile(first, []byte("addr = 127.0.0.1:1111\n"), 0o600)
	os.WriteFile(last, []byte("addr = 127.0.0.1:2222\n"), 0o600)
	for _, args := range [][]string{
		{"--config", first, "--config", last},
		{"--config=" + first, "--config", last},
		{"-config", first, "--metrics", "--log-level", "--config", "--config=" + last}, // --log-level's value is "--config"
	} {
		fs = newFlagSet("serve", io.Discard)
		c = serveFlags(fs)
		err := parseFlags(fs, args)
		if err != nil || c.addr != "127.0.0.1:2222" {
			t.Errorf("%q: addr %s (%v), want the last file's 127.0.0.1:2222", args, c.addr, err)
		}
	}
}

// TestBadSettingsFailInOneLine runs serve with invalid settings from each
// source and checks that it fails at once with a one-line reason.
func TestBadSettingsFailInOneLine(t *testing.T) {
	dir := t.TempDir()
	conf := func(text string) string {
		p := filepath.Join(dir, fmt.Sprintf("c%d.conf", len(text)))
		os.WriteFile(p, []byte(text), 0o600)
		return p
	}
	db := filepath.Join(dir, "hookd.db")
	// Each names the setting as it was given (flag, variable, or file line
	// and key), its value (never a key's), and what it should be.
	cases := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--concurrency", "lots"}, nil, `invalid --concurrency "lots": use a whole number, such as 256`},
		{nil, map[string]string{"HOOKD_CONCURRENCY": "lots"}, `invalid HOOKD_CONCURRENCY="lots": use a whole number, such as 256`},
		{[]string{"--config", conf("concurrency = 0\n")}, nil, `c16.conf:1: invalid concurrency "0": use 1 to 10000`},
		{[]string{"--retry-schedule", "5s,soon"}, nil, `invalid --retry-schedule "5s,soon": "soon" is not a duration like 5s, 5m or 2h`},
		{[]string{"--timeout", "10ms"}, nil, `invalid --timeout "10ms": use at least 1s`},
		{[]string{"--timeout", "5"}, nil, `invalid --timeout "5": use a duration such as 500ms, 15s, 5m or 2h`},
		{[]string{"--metrics=maybe"}, nil, `invalid --metrics "maybe": use true or false`},
		{[]string{"--lease", "20s"}, nil, `invalid --lease "20s": use at least --timeout + --lease-margin (30s)`},
		{[]string{"--circuit-cooldown", "10ms"}, nil, `invalid --circuit-cooldown "10ms": use at least 1s`},
		{[]string{"--log-database", "replica.db"}, nil, `invalid --log-database "replica.db": use a postgres:// URL, with a postgres:// --database`},
		{[]string{"--payload-retention", "1000h"}, nil, `invalid --payload-retention "1000h": use 0, or 1h up to --retention`},
		{[]string{"--max-connections", "-1"}, nil, `invalid --max-connections "-1": use 1 or more, or 0 for the default`},
		{[]string{"--admin-api-key", "no-dot-secret"}, nil, `invalid --admin-api-key: use the form <prefix>.<secret>`},
		{nil, map[string]string{"HOOKD_ADMIN_API_KEY": "no-dot-secret"}, `invalid HOOKD_ADMIN_API_KEY: use the form <prefix>.<secret>`},
		{[]string{"--config", conf("admin-api-key = no-dot-secret\n")}, nil, `.conf:1: invalid admin-api-key: use the form <prefix>.<secret>`},
		{[]string{"--log-format", "xml"}, nil, `invalid --log-format "xml": use text or json`},
		{[]string{"--otlp-endpoint", "collector:4318"}, nil, `invalid --otlp-endpoint "collector:4318"`},
		{[]string{"--no-such-setting"}, nil, "unknown flag --no-such-setting (hookd serve --help lists the settings)"},
		{[]string{"--timout", "3s"}, nil, "unknown flag --timout: did you mean --timeout?"},
		{[]string{"--timeout"}, nil, "--timeout needs a value"},
		{nil, map[string]string{"HOOKD_TIMEOUT": "5"}, `invalid HOOKD_TIMEOUT="5": use a duration`},
		{[]string{"--config", conf("concurrency = 0x\n")}, nil, `.conf:1: invalid concurrency "0x": use a whole number`},
		{[]string{"--config", conf("# ok\nretry-shedule = 5s\n")}, nil, `:2: unknown setting "retry-shedule": did you mean retry-schedule?`},
		{[]string{"--config", conf("addr\n")}, nil, `:1: want key = value, got "addr"`},
		// A line without = shows at most its start, never a secret after it.
		{[]string{"--config", conf("admin-api-key admin.no-dot-secret-0123456789abcdef\n")}, nil,
			`c51.conf:1: want key = value, got a line that starts "admin-api-key" and has no = (the rest is not shown)`},
		{[]string{"--config", conf("no-dot-secret-0123456789abcdef\n")}, nil, `c31.conf:1: want key = value, got a line that has no = (not shown: it may hold a secret)`},
		{[]string{"--config", conf("addr: 127.0.0.1:1\n")}, nil, `c18.conf:1: want key = value, got a line that starts "addr" and has no =`},
		{[]string{"--rate-limit", "NaN"}, nil, `invalid --rate-limit "NaN": use 0 (no limit) or more`},
		{[]string{"--rate-limit", "+Inf"}, nil, `invalid --rate-limit "+Inf": use 0 (no limit) or more`},
		{[]string{"--auth-failure-limit", "NaN"}, nil, `invalid --auth-failure-limit "NaN": use 0 (no limit) or more`},
		{[]string{"--auth-failure-limit", "Inf"}, nil, `invalid --auth-failure-limit "Inf": use 0 (no limit) or more`},
		{[]string{"--auth-failure-limit", "-Inf"}, nil, `invalid --auth-failure-limit "-Inf": use 0 (no limit) or more`},
		{[]string{"--config", filepath.Join(dir, "missing.conf")}, nil, "config file: open"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			var stderr bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0", "--database", db}, tc.args...), io.Discard, &stderr)
			if err == nil {
				t.Fatal("serve accepted the setting")
			}
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q, want one line containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "no-dot-secret") {
				t.Errorf("error %q shows the key", err)
			}
			if stderr.Len() > 0 {
				t.Errorf("serve printed more than its error:\n%s", stderr.String())
			}
		})
	}
}

// TestBadSettingExitsNonZero checks the built binary: exit status 2 and
// one line on stderr.
func TestBadSettingExitsNonZero(t *testing.T) {
	if testing.Short() {
		t.Skip("builds hookd")
	}
	bin := buildHookd(t)
	cmd := exec.Command(bin, "serve", "--retry-schedule", "sometimes")
	cmd.Env = append(os.Environ(), "HOOKD_DATABASE="+filepath.Join(t.TempDir(), "hookd.db"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	exit, ok := err.(*exec.ExitError)
	if !ok || exit.ExitCode() != 2 {
		t.Fatalf("exit: %v, want status 2", err)
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "hookd: invalid --retry-schedule") {
		t.Errorf("stderr %q, want one line: hookd: invalid --retry-schedule ...", stderr.String())
	}

	// --help lists every setting with its default, and exits 0.
	out, err := exec.Command(bin, "serve", "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("serve --help: %v", err)
	}
	fs := newFlagSet("serve", io.Discard)
	serveFlags(fs)
	fs.VisitAll(func(f *flag.Flag) {
		def := f.DefValue
		if def == "" {
			def = "none"
		}
		if want := fmt.Sprintf("(env %s; default %s)", envName(f.Name), def); !bytes.Contains(out, []byte("--"+f.Name+" ")) && !bytes.Contains(out, []byte("--"+f.Name+"\n")) || !bytes.Contains(out, []byte(want)) {
			t.Errorf("serve --help does not list --%s with %s", f.Name, want)
		}
	})
}

// TestPackagedConfig checks that the example config file of packaging/ is
// one that serve accepts.
func TestPackagedConfig(t *testing.T) {
	fs := newFlagSet("serve", io.Discard)
	c := serveFlags(fs)
	if err := parseFlags(fs, []string{"--config", "../../packaging/hookd.conf"}); err != nil {
		t.Fatal(err)
	}
	if *c.database != "/var/lib/hookd/hookd.db" || c.log.format != "json" || !c.metrics {
		t.Errorf("packaging/hookd.conf read as database %q, log-format %q, metrics %v", *c.database, c.log.format, c.metrics)
	}
}

// The default --shutdown-grace lets an attempt that has just begun finish:
// it follows --timeout.
func TestShutdownGraceDefault(t *testing.T) {
	for _, c := range []struct {
		args []string
		want time.Duration
	}{
		{nil, 15*time.Second + 5*time.Second},
		{[]string{"--timeout", "40s"}, 45 * time.Second},
		{[]string{"--timeout", "40s", "--shutdown-grace", "3s"}, 3 * time.Second},
	} {
		fs := newFlagSet("serve", io.Discard)
		sc := serveFlags(fs)
		if err := parseFlags(fs, c.args); err != nil {
			t.Fatal(err)
		}
		if got := sc.grace(); got != c.want || (len(c.args) == 0 && got < sc.timeout) {
			t.Errorf("%v: grace %s, want %s", c.args, got, c.want)
		}
	}
}

// Shutdown takes about one --shutdown-grace, not two: the dispatcher stops
// claiming and lets its attempts run out while the server drains its
// requests, under one deadline. Here a request and an attempt both hang
// through the grace.
func TestShutdownOneGrace(t *testing.T) {
	const adminKey = "opsadmin.shutdown-test-secret-0123456789"
	const grace = 2 * time.Second
	started := make(chan struct{}, 1)
	release := make(chan struct{})
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case started <- struct{}{}:
		default:
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer receiver.Close()
	defer close(release)

	addr := freeAddr(t)
	logs := &syncBuffer{}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", addr, "--database", filepath.Join(t.TempDir(), "hookd.db"),
			"--admin-api-key", adminKey, "--allow-private", "127.0.0.0/8", "--retry-schedule", "1h",
			"--timeout", "10s", "--shutdown-grace", grace.String()}, io.Discard, logs)
	}()
	url := "http://" + addr
	c := client.New(url, adminKey)
	bg := context.Background()

	var err error
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err = c.CreateWebhook(bg, api.NewWebhook{Name: "slow", HTTPURL: receiver.URL + "/slow",
			HTTPMethod: "POST", TriggerEvents: []string{"ASSET_ADDED"}}); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("hookd did not start: %v\n%s", err, logs.String())
		}
	}

	if _, err := c.Publish(bg, &api.Event{ID: "evt-shutdown-1", Event: "ASSET_ADDED", Data: json.RawMessage(`{"n":1}`)}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatalf("the attempt did not start\n%s", logs.String())
	}
	// A request whose body never comes keeps its connection active.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /api/v2/events HTTP/1.1\r\nHost: %s\r\nX-API-KEY: %s\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{", addr, adminKey)
	time.Sleep(200 * time.Millisecond)

	begin := time.Now()
	stop()
	select {
	case err := <-done:
		// A request cut off at the end of the grace ends the stop as
		// README says, not as a failure: exit status 0, with a warning.
		if err != nil {
			t.Errorf("serve returned %v after the grace, want nil", err)
		}
	case <-time.After(4 * grace):
		t.Fatal("serve did not return")
	}
	if took := time.Since(begin); took > grace+grace/2 {
		t.Errorf("shutdown took %s with a %s grace", took, grace)
	}
	if want := `level=WARN msg="shutdown grace period over: closing the connections of requests still running" grace=2s`; !strings.Contains(logs.String(), want) {
		t.Errorf("log without %q:\n%s", want, logs.String())
	}
	// The request's connection was closed, not left open.
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, conn); err != nil {
		t.Errorf("the cut-off request's connection: %v, want it closed", err)
	}
}
