package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd/api"
	"github.com/hookd/hookd/client"
	"github.com/hookd/hookd/internal/delivery"
	"github.com/hookd/hookd/internal/postgres/pgtest"
)

// inFlight is how many deliveries one hookd process can have sent, or be
// sending, without having recorded them: a receiver may get them again
// after the process dies. They are the attempts running (concurrency), the
// results waiting for the recorder (as many) and the batch it is recording.
func inFlight(concurrency int) int { return 2*concurrency + delivery.DefaultBatchSize }

// pair is one event on its way to one webhook: what must arrive.
type pair struct {
	event   string
	webhook int64
}

// pairReceiver records every delivery it gets by (event, webhook), with
// the time of the first. Several receiver servers share one.
type pairReceiver struct {
	mu    sync.Mutex
	count map[pair]int
	first map[pair]time.Time
	total int
}

func newPairReceiver() *pairReceiver {
	return &pairReceiver{count: map[pair]int{}, first: map[pair]time.Time{}}
}

// server starts a receiver on 127.0.0.1 that answers 200 at once.
func (r *pairReceiver) server(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var body struct {
			ID        string `json:"id"`
			WebhookID int64  `json:"webhook_id"`
		}
		data, _ := io.ReadAll(req.Body)
		if err := json.Unmarshal(data, &body); err != nil || body.ID == "" {
			t.Errorf("receiver: body %q: %v", data, err)
		}
		p := pair{body.ID, body.WebhookID}
		r.mu.Lock()
		if r.count[p] == 0 {
			r.first[p] = time.Now()
		}
		r.count[p]++
		r.total++
		r.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	return srv
}

func (r *pairReceiver) distinct() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.count)
}

// missing returns how many of want have not arrived.
func (r *pairReceiver) missing(want []pair) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, p := range want {
		if r.count[p] == 0 {
			n++
		}
	}
	return n
}

// duplicates returns the pairs that arrived more than once.
func (r *pairReceiver) duplicates() map[pair]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[pair]int{}
	for p, n := range r.count {
		if n > 1 {
			out[p] = n
		}
	}
	return out
}

// waitDrained waits until no webhook has deliveries queued or in flight.
func waitDrained(t *testing.T, c *client.Client, hooks []int64, deadline time.Time) {
	t.Helper()
	for {
		busy := 0
		for _, id := range hooks {
			w, err := c.Webhook(context.Background(), id)
			if err != nil {
				t.Fatalf("webhook %d: %v", id, err)
			}
			busy += w.QueueLength + w.RetryQueueLength
		}
		if busy == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("queues did not drain: %d deliveries left", busy)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// attemptFigures reads, from the test's database (a URL that names its
// schema), how many attempts are logged, for how many deliveries, and how
// many deliveries have not succeeded with exactly one counted attempt.
func attemptFigures(t *testing.T, dbURL string) (logged, deliveries, notOnce int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if err := conn.QueryRow(ctx, `SELECT count(*), count(DISTINCT delivery_id) FROM attempts`).Scan(&logged, &deliveries); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM deliveries WHERE state <> 'succeeded' OR attempts <> 1`).Scan(&notOnce); err != nil {
		t.Fatal(err)
	}
	return logged, deliveries, notOnce
}

// TestSeveralProcessesOnPostgres runs three hookd processes on one
// PostgreSQL schema, publishes 10,000 events fanned out to three webhooks,
// kills one process with SIGKILL midway and restarts it. Every (event,
// webhook) pair must arrive, and the only duplicates are the deliveries
// that the killed process had in flight: sent, or being sent, and not
// recorded.
func TestSeveralProcessesOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs hookd processes")
	}
	// Processes of its own: its waits overlap the other process tests'.
	t.Parallel()
	schema := pgtest.Schema(t) // skips without PostgreSQL
	start := time.Now()
	bin := buildHookd(t)
	const (
		processes   = 3
		events      = 10000
		batch       = 250
		concurrency = 16
	)
	recv := newPairReceiver()
	args := []string{"--database", pgtest.URLFor(t, schema), "--allow-private", "127.0.0.0/8",
		"--timeout", "2s", "--lease-margin", "3s", "--lease", "5s", "--concurrency", fmt.Sprint(concurrency),
		"--retry-schedule", "1s,1s,1s", "--shutdown-grace", "1s", "--maintenance-interval", "1s"}
	procs := make([]*hookdProcess, processes)
	for i := range procs {
		procs[i] = startHookd(t, bin, args...)
	}
	ctx := context.Background()
	admin := client.New(procs[0].url, testAdminKey)
	var hooks []int64
	for i := range 3 {
		w, err := admin.CreateWebhook(ctx, api.NewWebhook{Name: fmt.Sprintf("receiver %d", i+1),
			HTTPURL: recv.server(t).URL, HTTPMethod: "POST", TriggerEvents: []string{"ASSET_ADDED"}})
		if err != nil {
			t.Fatal(err)
		}
		hooks = append(hooks, w.ID)
	}
	var want []pair
	for i := range events {
		for _, h := range hooks {
			want = append(want, pair{fmt.Sprintf("evt_mp_%05d", i), h})
		}
	}
	t.Logf("%d hookd processes ready in %s", processes, time.Since(start).Round(time.Millisecond))

	// Publish in batches, spread over the processes. A batch whose answer
	// is lost (its process was killed) is sent again to another: the
	// client ids make that safe.
	var (
		procMu    sync.Mutex
		published = make(chan struct{})
		retried   atomic.Int32
	)
	urlOf := func(i int) string {
		procMu.Lock()
		defer procMu.Unlock()
		return procs[i%processes].url
	}
	publishStart := time.Now()
	go func() {
		defer close(published)
		for b := 0; b < events/batch; b++ {
			evs := make([]api.Event, batch)
			for j := range evs {
				n := b*batch + j
				evs[j] = api.Event{ID: fmt.Sprintf("evt_mp_%05d", n), Event: "ASSET_ADDED", Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, n))}
			}
			for try := 0; ; try++ {
				out, err := client.New(urlOf(b+try), testAdminKey).PublishBatch(ctx, evs)
				if err == nil {
					if len(out) != batch {
						t.Errorf("batch %d: %d events answered", b, len(out))
					}
					break
				}
				retried.Add(1)
				if try > 20 {
					t.Errorf("batch %d: %v", b, err)
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	}()

	// Midway, kill one process with SIGKILL, and start it again.
	for recv.distinct() < len(want)/2 {
		time.Sleep(2 * time.Millisecond)
	}
	victim := procs[1]
	if err := victim.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	victim.cmd.Wait()
	killedAt := time.Now()
	atKill := recv.distinct()
	t.Logf("killed process 2 with SIGKILL after %s: %d of %d pairs delivered", killedAt.Sub(publishStart).Round(time.Millisecond), atKill, len(want))
	restarted := startHookd(t, bin, args...)
	procMu.Lock()
	procs[1] = restarted
	procMu.Unlock()
	<-published
	t.Logf("published %d events in %s (%d batches sent again)", events, time.Since(publishStart).Round(time.Millisecond), retried.Load())

	// A bound on the wait, not a figure of speed: with the other packages'
	// tests on the same two cores, the last 15,000 pairs took from 25 s to
	// over 90 s, whichever build ran.
	deadline := time.Now().Add(5 * time.Minute)
	for recv.missing(want) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d (event, webhook) pairs never arrived", recv.missing(want), len(want))
		}
		time.Sleep(50 * time.Millisecond)
	}
	allAt := time.Now()
	waitDrained(t, client.New(procs[0].url, testAdminKey), hooks, deadline)
	t.Logf("all %d pairs delivered %s after the publishing began, %s after the kill; queues drained %s later",
		len(want), allAt.Sub(publishStart).Round(time.Millisecond), allAt.Sub(killedAt).Round(time.Millisecond),
		time.Since(allAt).Round(time.Millisecond))

	// The duplicates are deliveries the killed process had in flight: each
	// arrived first before the kill, and there are at most as many as it
	// could have in flight (see inFlight).
	dups := recv.duplicates()
	extra := 0
	var late []string
	for p, n := range dups {
		extra += n - 1
		if !recv.first[p].Before(killedAt) {
			late = append(late, fmt.Sprintf("%s to webhook %d", p.event, p.webhook))
		}
	}
	sort.Strings(late)
	recv.mu.Lock()
	total := recv.total
	recv.mu.Unlock()
	t.Logf("%d requests for %d pairs: %d duplicates (%d pairs), lost 0", total, len(want), extra, len(dups))
	if len(late) > 0 {
		t.Errorf("%d duplicated pairs first arrived after the kill, so not in flight then: %v", len(late), late)
	}
	if limit := inFlight(concurrency); extra > limit {
		t.Errorf("%d duplicates, more than the %d deliveries the killed process could have in flight", extra, limit)
	}
	if total != len(want)+extra {
		t.Errorf("%d requests, want %d pairs + %d duplicates", total, len(want), extra)
	}

	// The store logged each delivery once: the killed process's attempts
	// were never recorded, the retries of them once.
	logged, deliveries, notOnce := attemptFigures(t, pgtest.URLFor(t, schema))
	t.Logf("attempt log: %d entries for %d deliveries", logged, deliveries)
	if logged != len(want) || deliveries != len(want) || notOnce != 0 {
		t.Errorf("attempt log: %d entries for %d deliveries, %d deliveries not succeeded with one attempt; want %d, %d, 0",
			logged, deliveries, notOnce, len(want), len(want))
	}
	t.Logf("test took %s", time.Since(start).Round(time.Millisecond))
}

// intakeProbe publishes single events with client ids, one after another,
// over several hookd processes, and records the answers. An event whose
// answer is not 200 is sent again, with the same id, until it is accepted,
// as a publisher should.
type intakeProbe struct {
	t       *testing.T
	urls    []string
	mu      sync.Mutex
	next    int
	pending string // the id to send again, after a failure
	ok      []string
	last200 time.Time
	last503 time.Time
	n503    int
	n429    int      // answers of the rate limit, sent again after a pause
	shapes  []string // bodies of 503s that are not {"error": "..."}
	// noRetryAfter counts the 503s without a Retry-After header.
	noRetryAfter int
}

func (p *intakeProbe) run(ctx context.Context) {
	hc := &http.Client{Timeout: 10 * time.Second}
	for i := 0; ctx.Err() == nil; i++ {
		p.mu.Lock()
		id := p.pending
		if id == "" {
			id = fmt.Sprintf("evt_out_%05d", p.next)
			p.next++
		}
		p.mu.Unlock()
		body := fmt.Sprintf(`{"id": %q, "event": "ASSET_ADDED", "data": {"i": %d}}`, id, i)
		req, _ := http.NewRequest("POST", p.urls[i%len(p.urls)]+"/api/v2/events", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-API-KEY", testAdminKey)
		res, err := hc.Do(req)
		if err != nil {
			p.t.Errorf("intake: %v (hookd itself must stay up)", err)
			return
		}
		data, _ := io.ReadAll(res.Body)
		res.Body.Close()
		p.mu.Lock()
		switch res.StatusCode {
		case http.StatusOK:
			p.ok = append(p.ok, id)
			p.pending = ""
			p.last200 = time.Now()
		case http.StatusServiceUnavailable:
			p.pending = id
			p.n503++
			p.last503 = time.Now()
			if res.Header.Get("Retry-After") == "" {
				p.noRetryAfter++
			}
			var e map[string]any
			if err := json.Unmarshal(data, &e); err != nil || len(e) != 1 {
				p.shapes = append(p.shapes, string(data))
			} else if msg, ok := e["error"].(string); !ok || msg == "" {
				p.shapes = append(p.shapes, string(data))
			}
		case http.StatusTooManyRequests:
			p.pending = id
			p.n429++
		default:
			p.t.Errorf("intake answered %d %s", res.StatusCode, data)
			p.pending = id
		}
		limited := res.StatusCode == http.StatusTooManyRequests
		p.mu.Unlock()
		if limited {
			time.Sleep(100 * time.Millisecond)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (p *intakeProbe) figures() (accepted int, n503 int, last200, last503 time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.ok), p.n503, p.last200, p.last503
}

// readyProbe polls /readyz of a process and records when it last saw each
// status.
type readyProbe struct {
	mu   sync.Mutex
	last map[int]time.Time
}

func (r *readyProbe) run(ctx context.Context, url string) {
	hc := &http.Client{Timeout: 5 * time.Second}
	for ctx.Err() == nil {
		res, err := hc.Get(url + "/readyz")
		if err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			r.mu.Lock()
			r.last[res.StatusCode] = time.Now()
			r.mu.Unlock()
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func (r *readyProbe) lastSeen(status int) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last[status]
}

// TestPostgresOutage runs two hookd processes on PostgreSQL through a TCP
// proxy while a publisher keeps sending events: their database sessions
// are terminated (pg_terminate_backend, as a restart ends them), then the
// database is unreachable for 3 s (the proxy refuses connections), then it
// is back. While it is gone /readyz answers 503 and the intake 503 with
// {"error": ...}; both recover by themselves; every accepted event is
// delivered.
func TestPostgresOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs hookd processes")
	}
	// Processes of its own: its waits overlap the other process tests'.
	t.Parallel()
	schema := pgtest.Schema(t) // skips without PostgreSQL
	proxy := pgtest.NewProxy(t)
	start := time.Now()
	o := startOutageRun(t, 2, proxy.URLFor(t, schema), pgtest.URLFor(t, schema))

	o.phase("running", 500*time.Millisecond)
	n := pgtest.Terminate(t, schema)
	t.Logf("terminated %d PostgreSQL sessions of the two processes", n)
	o.phase("after pg_terminate_backend", 500*time.Millisecond)

	proxy.Cut()
	cutAt := time.Now()
	o.phase("database unreachable (3 s)", 3*time.Second)
	proxy.Restore(t)
	o.backAt = time.Now()
	o.sawOutage(t, cutAt)
	o.recoverAndDeliverAll(t)
	t.Logf("test took %s", time.Since(start).Round(time.Millisecond))
}

// TestPostgresRefusesConnections runs three hookd processes on a database
// of the test's own while a publisher keeps sending events, and takes the
// database offline for 3 s as an operator does (ALTER DATABASE ...
// ALLOW_CONNECTIONS false, its sessions terminated): the server refuses
// every new connection with SQLSTATE 55000. Every publish is answered 200,
// or 503 with Retry-After (never 500); /readyz answers 503 meanwhile;
// both recover by themselves, and every accepted event is delivered.
func TestPostgresRefusesConnections(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs hookd processes")
	}
	t.Parallel()
	dbURL, name := pgtest.Database(t) // skips without PostgreSQL
	start := time.Now()
	o := startOutageRun(t, 3, dbURL, dbURL)

	o.phase("running", 500*time.Millisecond)
	pgtest.AllowConnections(t, name, false)
	offAt := time.Now()
	o.phase("database offline (3 s)", 3*time.Second)
	pgtest.AllowConnections(t, name, true)
	o.backAt = time.Now()
	o.sawOutage(t, offAt)
	o.recoverAndDeliverAll(t)
	t.Logf("test took %s", time.Since(start).Round(time.Millisecond))
}

// outageConcurrency is the --concurrency of the processes of the outage
// tests.
const outageConcurrency = 16

// outageRun is a test of a database outage: hookd processes on one
// database, a webhook to a receiver, a publisher (intake) and /readyz
// probes running over them, and when the database came back.
type outageRun struct {
	intake     *intakeProbe
	ready      []*readyProbe
	recv       *pairReceiver
	procs      []*hookdProcess
	webhook    int64
	dbURL      string // the processes' database, to read the attempt log
	backAt     time.Time
	stopProbes func()
	probes     sync.WaitGroup
}

// startOutageRun starts n hookd processes on database (their --database)
// and the probes over them; dbURL reaches the same database directly.
func startOutageRun(t *testing.T, n int, database, dbURL string) *outageRun {
	t.Helper()
	bin := buildHookd(t)
	args := []string{"--database", database, "--allow-private", "127.0.0.0/8",
		"--timeout", "2s", "--lease-margin", "3s", "--lease", "5s", "--concurrency", fmt.Sprint(outageConcurrency),
		"--retry-schedule", "1s,1s,1s", "--shutdown-grace", "1s"}
	o := &outageRun{recv: newPairReceiver(), dbURL: dbURL}
	var urls []string
	for range n {
		p := startHookd(t, bin, args...)
		o.procs = append(o.procs, p)
		urls = append(urls, p.url)
	}
	w, err := client.New(o.procs[0].url, testAdminKey).CreateWebhook(context.Background(), api.NewWebhook{Name: "outage",
		HTTPURL: o.recv.server(t).URL, HTTPMethod: "POST", TriggerEvents: []string{"ASSET_ADDED"}})
	if err != nil {
		t.Fatal(err)
	}
	o.webhook = w.ID
	probeCtx, stop := context.WithCancel(context.Background())
	o.stopProbes = stop
	t.Cleanup(func() { stop(); o.probes.Wait() })
	o.intake = &intakeProbe{t: t, urls: urls}
	o.probes.Go(func() { o.intake.run(probeCtx) })
	for _, p := range o.procs {
		r := &readyProbe{last: map[int]time.Time{}}
		o.ready = append(o.ready, r)
		o.probes.Go(func() { r.run(probeCtx, p.url) })
	}
	return o
}

// phase lets the probes run for d and logs what the intake answered.
func (o *outageRun) phase(name string, d time.Duration) {
	before, n503, _, _ := o.intake.figures()
	time.Sleep(d)
	after, m503, _, _ := o.intake.figures()
	o.intake.t.Logf("%-32s %5d events accepted, %4d answers 503", name+":", after-before, m503-n503)
}

// sawOutage checks that /readyz of every process and the intake answered
// 503 after since, when the database went away.
func (o *outageRun) sawOutage(t *testing.T, since time.Time) {
	t.Helper()
	for i, r := range o.ready {
		if seen := r.lastSeen(http.StatusServiceUnavailable); seen.Before(since) {
			t.Errorf("process %d: /readyz never answered 503 while the database was away", i+1)
		}
	}
	if _, _, _, last503 := o.intake.figures(); last503.Before(since) {
		t.Error("the intake never answered 503 while the database was away")
	}
}

// recoverAndDeliverAll checks the end of an outage: every 503 of the
// intake was in the error shape with Retry-After; /readyz of every process
// and the intake answer 200 again by themselves; and, once the probes
// stop, every accepted event is delivered, once but for the attempts the
// outage cut off, and logged once.
func (o *outageRun) recoverAndDeliverAll(t *testing.T) {
	t.Helper()
	intake := o.intake
	intake.mu.Lock()
	shapes, noRetryAfter := intake.shapes, intake.noRetryAfter
	intake.mu.Unlock()
	if len(shapes) > 0 {
		t.Errorf("503 answers not in the error shape: %q", shapes)
	}
	if noRetryAfter > 0 {
		t.Errorf("%d answers 503 without Retry-After", noRetryAfter)
	}

	// Every process recovers by itself.
	deadline := time.Now().Add(20 * time.Second)
	for i, r := range o.ready {
		for !r.lastSeen(http.StatusOK).After(o.backAt) {
			if time.Now().After(deadline) {
				t.Fatalf("process %d: /readyz did not answer 200 again", i+1)
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Logf("process %d: /readyz 200 again %s after the database came back", i+1, r.lastSeen(http.StatusOK).Sub(o.backAt).Round(time.Millisecond))
	}
	for {
		if _, _, last200, _ := intake.figures(); last200.After(o.backAt) {
			t.Logf("intake: 200 again %s after the database came back", last200.Sub(o.backAt).Round(time.Millisecond))
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the intake did not answer 200 again")
		}
		time.Sleep(10 * time.Millisecond)
	}
	o.phase("database back", time.Second)
	// A claim cut off after the database committed it leaves its
	// deliveries leased to a process that does not know it: they go out
	// when the 5 s lease ends.
	o.stopProbes()
	o.probes.Wait()

	// Nothing accepted is lost.
	intake.mu.Lock()
	accepted := append([]string(nil), intake.ok...)
	intake.mu.Unlock()
	var want []pair
	for _, id := range accepted {
		want = append(want, pair{id, o.webhook})
	}
	stoppedAt := time.Now()
	deadline = stoppedAt.Add(60 * time.Second)
	for o.recv.missing(want) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d accepted events never arrived", o.recv.missing(want), len(want))
		}
		time.Sleep(50 * time.Millisecond)
	}
	allAt := time.Now()
	waitDrained(t, client.New(o.procs[0].url, testAdminKey), []int64{o.webhook}, deadline)
	t.Logf("all accepted events delivered %s after publishing stopped; queue drained %s later",
		allAt.Sub(stoppedAt).Round(time.Millisecond), time.Since(allAt).Round(time.Millisecond))
	extra := 0
	for _, n := range o.recv.duplicates() {
		extra += n - 1
	}
	o.recv.mu.Lock()
	total, distinct := o.recv.total, len(o.recv.count)
	o.recv.mu.Unlock()
	_, n503, _, _ := intake.figures()
	t.Logf("%d events accepted (%d answers 503 in all, %d 429), %d delivered (%d requests, %d duplicates), lost 0",
		len(accepted), n503, intake.n429, distinct, total, extra)
	if distinct != len(accepted) {
		// An event whose 200 was lost with its connection may be stored
		// and delivered although the publisher saw a 503; it sent the id
		// again and got 200 then, so it is accepted all the same.
		t.Errorf("%d events delivered, %d accepted", distinct, len(accepted))
	}
	if limit := len(o.procs) * inFlight(outageConcurrency); extra > limit {
		t.Errorf("%d duplicates, more than the %d deliveries %d processes can have in flight", extra, limit, len(o.procs))
	}
	logged, deliveries, notOnce := attemptFigures(t, o.dbURL)
	t.Logf("attempt log: %d entries for %d deliveries", logged, deliveries)
	if logged != deliveries || deliveries != len(accepted) || notOnce != 0 {
		t.Errorf("attempt log: %d entries for %d deliveries, %d deliveries not succeeded with one attempt; want %d, %d, 0",
			logged, deliveries, notOnce, len(accepted), len(accepted))
	}
}
