// Command river compares hookd's plain-table delivery queue with River
// (github.com/riverqueue/river) on the same database: (a) enqueue
// throughput, (b) work throughput with no-op work, (c) latency from insert to
// work start at a low steady rate. It lives in a module of its own so that
// hookd's go.mod does not depend on River.
//
// On PostgreSQL every system gets a fresh schema, created and dropped by
// this program; on SQLite a temporary file each. See README.md.
package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	_ "modernc.org/sqlite"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/postgres"
	"github.com/hookd/hookd/internal/sqlite"
)

var (
	pgURL     = flag.String("pg", "postgres://postgres@127.0.0.1:5432/test", "PostgreSQL URL (empty: skip PostgreSQL)")
	engines   = flag.String("engines", "postgres,sqlite", "engines to measure")
	n         = flag.Int("n", 10000, "jobs per enqueue measurement (the work measurement drains 2n)")
	batch     = flag.Int("batch", 100, "insert batch size")
	runs      = flag.Int("runs", 3, "runs (medians are reported)")
	rate      = flag.Int("rate", 200, "latency test: inserts per second")
	latDur    = flag.Duration("latdur", 5*time.Second, "latency test: duration")
	workers   = flag.Int("workers", 32, "River MaxWorkers (hookd's DefaultConcurrency)")
	claimers  = flag.Int("claimers", 8, "hookd goroutines claiming and completing")
	claimSize = flag.Int("claim", 32, "hookd Claim limit (hookd's DefaultBatchSize)")
	timeout   = flag.Duration("timeout", 30*time.Second, "bound on each measurement")
	cooldown  = flag.Duration("cooldown", 5*time.Millisecond, "River FetchCooldown")
	pollPG    = flag.Duration("poll-pg", time.Second, "River FetchPollInterval on PostgreSQL (LISTEN/NOTIFY wakes it sooner)")
	pollLite  = flag.Duration("poll-sqlite", 50*time.Millisecond, "River FetchPollInterval on SQLite")
)

const eventName = "bench.event"

// results[engine][metric][system] = values over runs
type results map[string]map[string]map[string][]float64

func (r results) add(engine, metric, system string, v float64) {
	if r[engine] == nil {
		r[engine] = map[string]map[string][]float64{}
	}
	if r[engine][metric] == nil {
		r[engine][metric] = map[string][]float64{}
	}
	r[engine][metric][system] = append(r[engine][metric][system], v)
	log.Printf("%-8s %-28s %-22s %12.1f", engine, metric, system, v)
}

func main() {
	log.SetFlags(log.Ltime | log.Lmicroseconds)
	flag.Parse()
	res := results{}
	start := time.Now()
	for run := 1; run <= *runs; run++ {
		for _, e := range strings.Split(*engines, ",") {
			log.Printf("run %d: %s", run, e)
			var err error
			switch e {
			case "postgres":
				err = runPostgres(res)
			case "sqlite":
				err = runSQLite(res)
			default:
				err = fmt.Errorf("unknown engine %q", e)
			}
			if err != nil {
				log.Fatalf("%s: %v", e, err)
			}
		}
	}
	log.Printf("total %s", time.Since(start).Round(time.Second))
	report(res)
}

func median(v []float64) float64 {
	v = slices.Clone(v)
	sort.Float64s(v)
	if len(v) == 0 {
		return 0
	}
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// metrics, in order: name, unit, the hookd and River series, and whether
// higher is better.
var metrics = []struct {
	name, hookd, river string
	higher             bool
}{
	{"enqueue jobs/s", "hookd PublishEvents", "River InsertMany", true},
	{"enqueue jobs/s", "hookd PublishEvents", "River InsertManyFast", true},
	{"work jobs/s", "hookd Claim+Complete", "River workers", true},
	{"latency p50 ms", "hookd", "River", false},
	{"latency p99 ms", "hookd", "River", false},
}

func report(res results) {
	fmt.Printf("\n| engine | measurement | hookd | River | hookd/River |\n|---|---|---|---|---|\n")
	for _, e := range strings.Split(*engines, ",") {
		for _, m := range metrics {
			h, r := res[e][m.name][m.hookd], res[e][m.name][m.river]
			if len(h) == 0 || len(r) == 0 {
				continue
			}
			hm, rm := median(h), median(r)
			label := m.name
			if strings.HasPrefix(m.name, "enqueue") {
				label += " (vs " + strings.TrimPrefix(m.river, "River ") + ")"
			}
			fmt.Printf("| %s | %s | %.1f | %.1f | %.2f |\n", e, label, hm, rm, hm/rm)
		}
	}
	fmt.Printf("\nraw values (%d runs):\n", *runs)
	for _, e := range strings.Split(*engines, ",") {
		for m, systems := range res[e] {
			for s, v := range systems {
				fmt.Printf("  %s / %s / %s: %v\n", e, m, s, v)
			}
		}
	}
}

// latencies collects insert-to-start latencies.
type latencies struct {
	mu sync.Mutex
	on bool
	v  []time.Duration
}

func (l *latencies) record(sentNS int64) {
	d := time.Since(time.Unix(0, sentNS))
	l.mu.Lock()
	if l.on {
		l.v = append(l.v, d)
	}
	l.mu.Unlock()
}

func (l *latencies) start() { l.mu.Lock(); l.on = true; l.v = nil; l.mu.Unlock() }

func (l *latencies) stop() (p50, p99 float64, count int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.on = false
	v := slices.Clone(l.v)
	slices.Sort(v)
	if len(v) == 0 {
		return 0, 0, 0
	}
	ms := func(q float64) float64 { return float64(v[int(q*float64(len(v)-1))]) / 1e6 }
	return ms(0.50), ms(0.99), len(v)
}

// steady calls insert rate times a second for latDur, passing the send
// time, and returns how many it sent.
func steady(ctx context.Context, insert func(sentNS int64) error) (int, error) {
	tick := time.NewTicker(time.Second / time.Duration(*rate))
	defer tick.Stop()
	end := time.After(*latDur)
	sent := 0
	for {
		select {
		case <-end:
			return sent, nil
		case <-ctx.Done():
			return sent, ctx.Err()
		case <-tick.C:
			if err := insert(time.Now().UnixNano()); err != nil {
				return sent, err
			}
			sent++
		}
	}
}

// waitFor polls cond until it is true or the measurement's bound passes.
func waitFor(ctx context.Context, cond func() (bool, error)) error {
	for {
		ok, err := cond()
		if err != nil || ok {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// ---- hookd ----

// claimRequest is a claim of *claimSize as worker. The one webhook's share
// (a quarter of Workers) holds every claimer's claims: the queue is
// measured, not the fair share.
func claimRequest(worker string) hookd.ClaimRequest {
	return hookd.ClaimRequest{Worker: worker, Limit: *claimSize, Lease: time.Minute, Workers: 4 * *claimers * *claimSize}
}

type hookdStore interface {
	CreateWebhook(ctx context.Context, w *hookd.Webhook, signingSecret string) error
	PublishEvents(ctx context.Context, events []*hookd.Event) ([]hookd.Published, error)
	Claim(ctx context.Context, req hookd.ClaimRequest) (hookd.Claimed, error)
	Complete(ctx context.Context, results []hookd.AttemptResult) error
	Wakeup() <-chan struct{}
}

func results1(ds []*hookd.Delivery) []hookd.AttemptResult {
	rs := make([]hookd.AttemptResult, len(ds))
	for j, d := range ds {
		rs[j] = hookd.AttemptResult{DeliveryID: d.ID, Attempt: 1, At: hookd.SystemClock.Now(), Success: true, HTTPStatus: 200,
			Duration: time.Millisecond, RequestHeaders: map[string]string{"webhook-id": d.MessageID}, ResponseBody: "ok"}
	}
	return rs
}

// benchHookd measures s (and, for the latency test, publishes through pub,
// another store on the same database when the engine can wake other
// processes).
func benchHookd(res results, engine string, s, pub hookdStore) error {
	ctx := context.Background()
	w := &hookd.Webhook{Name: "bench", HTTPURL: "http://x", HTTPMethod: "POST", TriggerEvents: []string{eventName}}
	if err := s.CreateWebhook(ctx, w, ""); err != nil {
		return err
	}
	data := json.RawMessage(`{"asset": {"id": 12, "title": "a title"}}`)
	publish := func() error {
		for left := *n; left > 0; left -= *batch {
			evs := make([]*hookd.Event, min(*batch, left))
			for j := range evs {
				evs[j] = &hookd.Event{Event: eventName, Data: data}
			}
			if _, err := s.PublishEvents(ctx, evs); err != nil {
				return err
			}
		}
		return nil
	}
	// (a) enqueue: n events, fan-out 1 (an event row and a delivery row each)
	t := time.Now()
	if err := publish(); err != nil {
		return err
	}
	res.add(engine, "enqueue jobs/s", "hookd PublishEvents", float64(*n)/time.Since(t).Seconds())
	if err := publish(); err != nil { // 2n pending, as River has
		return err
	}

	// (b) work: claimers goroutines Claim+Complete until the queue is empty
	wctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	var done atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, *claimers)
	t = time.Now()
	for i := range *claimers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				claimed, err := s.Claim(wctx, claimRequest(fmt.Sprint("w", i)))
				ds := claimed.Deliveries
				if err != nil {
					errs <- err
					return
				}
				if len(ds) == 0 {
					return
				}
				if err := s.Complete(wctx, results1(ds)); err != nil {
					errs <- err
					return
				}
				done.Add(int64(len(ds)))
			}
		}()
	}
	wg.Wait()
	el := time.Since(t)
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	if done.Load() != int64(2**n) {
		return fmt.Errorf("hookd drained %d of %d", done.Load(), 2**n)
	}
	res.add(engine, "work jobs/s", "hookd Claim+Complete", float64(done.Load())/el.Seconds())

	// (c) latency: one claim loop, woken by Wakeup or a 1 s poll (the
	// dispatcher's default PollInterval)
	var lat latencies
	lctx, lcancel := context.WithCancel(ctx)
	loopDone := make(chan error, 1)
	go func() {
		for {
			claimed, err := s.Claim(lctx, claimRequest("lat"))
			ds := claimed.Deliveries
			if err != nil {
				if lctx.Err() != nil {
					err = nil
				}
				loopDone <- err
				return
			}
			for _, d := range ds {
				var v struct{ T int64 }
				json.Unmarshal(d.Event.Data, &v)
				lat.record(v.T)
			}
			if len(ds) > 0 {
				if err := s.Complete(lctx, results1(ds)); err != nil {
					loopDone <- err
					return
				}
				continue
			}
			select {
			case <-lctx.Done():
				loopDone <- nil
				return
			case <-s.Wakeup():
			case <-time.After(time.Second):
			}
		}
	}()
	lat.start()
	sent, err := steady(lctx, func(sent int64) error {
		_, err := pub.PublishEvents(lctx, []*hookd.Event{{Event: eventName, Data: json.RawMessage(fmt.Sprintf(`{"t":%d}`, sent))}})
		return err
	})
	if err != nil {
		lcancel()
		return err
	}
	tctx, tcancel := context.WithTimeout(ctx, 5*time.Second)
	waitFor(tctx, func() (bool, error) {
		lat.mu.Lock()
		defer lat.mu.Unlock()
		return len(lat.v) >= sent, nil
	})
	tcancel()
	p50, p99, got := lat.stop()
	lcancel()
	if err := <-loopDone; err != nil {
		return err
	}
	if got < sent {
		return fmt.Errorf("hookd latency: %d of %d started", got, sent)
	}
	res.add(engine, "latency p50 ms", "hookd", p50)
	res.add(engine, "latency p99 ms", "hookd", p99)
	return nil
}

// ---- River ----

type noopArgs struct {
	Sent int64  `json:"sent"`
	Data string `json:"data"`
}

func (noopArgs) Kind() string { return "noop" }

type noopWorker struct {
	river.WorkerDefaults[noopArgs]
	lat *latencies
}

func (w *noopWorker) Work(ctx context.Context, job *river.Job[noopArgs]) error {
	if job.Args.Sent != 0 {
		w.lat.record(job.Args.Sent)
	}
	return nil
}

// benchRiver measures River with driver; completed counts the completed
// jobs (a query of the engine's own).
func benchRiver[TTx any](res results, engine string, newClient func(*river.Config) (*river.Client[TTx], error),
	completed func(ctx context.Context) (int, error), cfg river.Config) error {
	ctx := context.Background()
	var lat latencies
	ws := river.NewWorkers()
	river.AddWorker(ws, &noopWorker{lat: &lat})
	cfg.Workers = ws
	cfg.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: *workers}}
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	client, err := newClient(&cfg)
	if err != nil {
		return err
	}
	params := func() []river.InsertManyParams {
		ps := make([]river.InsertManyParams, *batch)
		for j := range ps {
			ps[j] = river.InsertManyParams{Args: noopArgs{Data: `{"asset": {"id": 12, "title": "a title"}}`}}
		}
		return ps
	}
	// (a) enqueue, both ways
	t := time.Now()
	for left := *n; left > 0; left -= *batch {
		if _, err := client.InsertMany(ctx, params()[:min(*batch, left)]); err != nil {
			return fmt.Errorf("InsertMany: %w", err)
		}
	}
	res.add(engine, "enqueue jobs/s", "River InsertMany", float64(*n)/time.Since(t).Seconds())
	t = time.Now()
	for left := *n; left > 0; left -= *batch {
		if _, err := client.InsertManyFast(ctx, params()[:min(*batch, left)]); err != nil {
			return fmt.Errorf("InsertManyFast: %w", err)
		}
	}
	res.add(engine, "enqueue jobs/s", "River InsertManyFast", float64(*n)/time.Since(t).Seconds())

	// (b) work: start the client, wait until all 2n are completed in the
	// database
	wctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	t = time.Now()
	if err := client.Start(ctx); err != nil {
		return err
	}
	defer func() {
		sctx, c := context.WithTimeout(ctx, 10*time.Second)
		client.Stop(sctx)
		c()
	}()
	err = waitFor(wctx, func() (bool, error) {
		c, err := completed(wctx)
		return c >= 2**n, err
	})
	if err != nil {
		c, _ := completed(ctx)
		return fmt.Errorf("River work: %d of %d completed: %w", c, 2**n, err)
	}
	res.add(engine, "work jobs/s", "River workers", float64(2**n)/time.Since(t).Seconds())

	// (c) latency: inserts one at a time (Insert), through the same client
	lat.start()
	sent, err := steady(ctx, func(sent int64) error {
		_, err := client.Insert(ctx, noopArgs{Sent: sent}, nil)
		return err
	})
	if err != nil {
		return err
	}
	tctx, tcancel := context.WithTimeout(ctx, 5*time.Second)
	waitFor(tctx, func() (bool, error) {
		lat.mu.Lock()
		defer lat.mu.Unlock()
		return len(lat.v) >= sent, nil
	})
	tcancel()
	p50, p99, got := lat.stop()
	if got < sent {
		return fmt.Errorf("River latency: %d of %d started", got, sent)
	}
	res.add(engine, "latency p50 ms", "River", p50)
	res.add(engine, "latency p99 ms", "River", p99)
	return nil
}

// ---- PostgreSQL ----

// withSchema creates a fresh schema, runs fn with a pool configuration
// whose search_path is that schema, and drops the schema.
func withSchema(fn func(schema string, cfg *pgxpool.Config) error) error {
	ctx := context.Background()
	var b [6]byte
	rand.Read(b[:])
	schema := "river_bench_" + hex.EncodeToString(b[:])
	conn, err := pgx.Connect(ctx, *pgURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		return err
	}
	defer func() {
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			log.Printf("drop schema %s: %v", schema, err)
		}
	}()
	cfg, err := pgxpool.ParseConfig(*pgURL)
	if err != nil {
		return err
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	cfg.ConnConfig.RuntimeParams["application_name"] = schema
	return fn(schema, cfg)
}

func runPostgres(res results) error {
	err := withSchema(func(schema string, cfg *pgxpool.Config) error {
		ctx := context.Background()
		s1, err := postgres.OpenConfig(ctx, cfg)
		if err != nil {
			return err
		}
		defer s1.Close()
		// the latency test publishes from another store (another
		// "process"): its work reaches s1 by NOTIFY, as River's does
		s2, err := postgres.OpenConfig(ctx, cfg)
		if err != nil {
			return err
		}
		defer s2.Close()
		return benchHookd(res, "postgres", s1, s2)
	})
	if err != nil {
		return fmt.Errorf("hookd: %w", err)
	}
	err = withSchema(func(schema string, cfg *pgxpool.Config) error {
		ctx := context.Background()
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			return err
		}
		defer pool.Close()
		driver := riverpgxv5.New(pool)
		m, err := rivermigrate.New(driver, &rivermigrate.Config{Schema: schema})
		if err != nil {
			return err
		}
		if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
			return err
		}
		return benchRiver(res, "postgres",
			func(c *river.Config) (*river.Client[pgx.Tx], error) { return river.NewClient(driver, c) },
			func(ctx context.Context) (int, error) {
				var c int
				err := pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE state = 'completed'`).Scan(&c)
				return c, err
			},
			river.Config{Schema: schema, FetchCooldown: *cooldown, FetchPollInterval: *pollPG})
	})
	if err != nil {
		return fmt.Errorf("River: %w", err)
	}
	return nil
}

// ---- SQLite ----

func runSQLite(res results) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "river-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	s, err := sqlite.Open(ctx, filepath.Join(dir, "hookd.db"))
	if err != nil {
		return err
	}
	// one store: SQLite wakes the claimers of its own process only
	err = benchHookd(res, "sqlite", s, s)
	s.Close()
	if err != nil {
		return fmt.Errorf("hookd: %w", err)
	}

	db, err := sql.Open("sqlite", filepath.Join(dir, "river.db")+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_pragma=synchronous(NORMAL)")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1) // as the riversqlite documentation advises
	driver := riversqlite.New(db)
	m, err := rivermigrate.New(driver, nil)
	if err != nil {
		return err
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return err
	}
	err = benchRiver(res, "sqlite",
		func(c *river.Config) (*river.Client[*sql.Tx], error) { return river.NewClient(driver, c) },
		func(ctx context.Context) (int, error) {
			var c int
			err := db.QueryRowContext(ctx, `SELECT count(*) FROM river_job WHERE state = 'completed'`).Scan(&c)
			return c, err
		},
		river.Config{FetchCooldown: *cooldown, FetchPollInterval: *pollLite})
	if err != nil {
		return fmt.Errorf("River: %w", err)
	}
	return nil
}
