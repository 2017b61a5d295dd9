package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/hookd/hookd"
)

// historyStore is a store hookd generate can fill straight, beside the
// intake (sqlite.Store, postgres.Store).
type historyStore interface {
	hookd.Store
	FillHistory(ctx context.Context, h hookd.HistoryFill) error
	HistorySize(ctx context.Context) (attempts, deliveries, bytes int64, err error)
}

// historySettler is a store that vacuums after a fill (postgres.Store), as
// autovacuum would soon: measuring while autovacuum runs would measure it.
type historySettler interface {
	SettleHistory(ctx context.Context) error
}

// generatedWebhook names the webhooks whose history hookd generate writes;
// liveWebhook the one its measurements publish to (fan-out 1).
const (
	generatedWebhook = "generated-history-"
	liveWebhook      = "generated-live"
	liveEvent        = "ASSET_PUBLISHED"
)

// generateReport is what hookd generate measured.
type generateReport struct {
	Database         string  `json:"database"`
	Attempts         int64   `json:"attempts"`
	Deliveries       int64   `json:"deliveries"`
	Bytes            int64   `json:"bytes"`
	BytesPerMillion  int64   `json:"bytes_per_million_deliveries"`
	Added            int64   `json:"attempts_added"`
	FillSeconds      float64 `json:"fill_seconds"`
	FillRowsASecond  float64 `json:"fill_attempts_a_second"`
	SettleSeconds    float64 `json:"vacuum_seconds"`
	LoadBefore       string  `json:"load_before"`
	LoadAfter        string  `json:"load_after"`
	PublishOneMS     float64 `json:"publish_one_ms"`
	PublishHundredMS float64 `json:"publish_100_ms"`
	Claim100MS       float64 `json:"claim_100_ms"`
	Complete100MS    float64 `json:"complete_100_ms"`
	LogFirstPageMS   float64 `json:"log_page_1_ms"`
	LogDeepPageMS    float64 `json:"log_page_100_ms"`
	QueueStatsMS     float64 `json:"queue_stats_ms"`
	WebhookMS        float64 `json:"webhook_ms"`
	ExpiredRows      int64   `json:"expired_rows,omitempty"`
	ExpireMS         float64 `json:"expire_ms,omitempty"`
}

func generateCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("generate", stderr)
	database := fs.String("database", "", "SQLite file or postgres:// URL to fill (required; migrated first)")
	target := fs.Int64("attempts", 1_000_000, "fill until the database holds this many attempts (0: measure only)")
	days := fs.Int("days", 30, "spread the history added over this many days, up to now")
	webhooks := fs.Int("webhooks", 100, "webhooks the history is spread over")
	retryEvery := fs.Int64("retry-every", 10, "every n-th delivery first failed --failures times (attempts ≈ deliveries × (1 + failures/n))")
	failures := fs.Int64("failures", 1, "failed attempts before the success of every --retry-every-th delivery")
	pad := fs.Int("pad", 200, "bytes of padding in each event's data")
	chunk := fs.Int64("chunk", 50_000, "deliveries written a statement")
	workers := fs.Int("workers", 1, "statements writing at once (PostgreSQL: one backend each; SQLite writes one at a time)")
	expire := fs.Duration("expire-older-than", 0, "at the end, prune what is older than this (Store.Prune, as --retention does) and time it: 696h expires the oldest day of 30")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "hookd generate: fill a database with history fast (straight into the tables), then measure intake, claim, complete, log pages and stats on it.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *database == "" || *target < 0 || *days < 1 || *webhooks < 1 || *retryEvery < 1 || *failures < 1 || *pad < 0 || *chunk < 1 || *workers < 1 {
		return errors.New("invalid settings: --database is required; --days, --webhooks, --retry-every, --failures, --chunk and --workers at least 1")
	}
	store, err := openStore(ctx, *database)
	if err != nil {
		return err
	}
	defer store.Close()
	hs, ok := store.(historyStore)
	if !ok {
		return fmt.Errorf("--database %s: cannot generate history there", redact(*database))
	}
	r := generateReport{Database: redact(*database), LoadBefore: loadAverage()}
	hooks, live, err := generatorWebhooks(ctx, hs, *webhooks)
	if err != nil {
		return err
	}
	attempts, _, _, err := hs.HistorySize(ctx)
	if err != nil {
		return err
	}
	if *target > attempts {
		perDelivery := 1 + float64(*failures)/float64(*retryEvery)
		n := int64(math.Round(float64(*target-attempts) / perDelivery))
		span := time.Duration(*days) * 24 * time.Hour
		now := hookd.SystemClock.Now()
		h := hookd.HistoryFill{
			Tag: fmt.Sprintf("gen%x_", now.UnixNano()), Webhooks: hooks, From: now.Add(-span),
			Step: max(span/time.Duration(n), time.Millisecond), RetryEvery: *retryEvery, Failures: *failures, Pad: strings.Repeat("x", *pad),
		}
		start := time.Now()
		var done atomic.Int64
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(*workers)
		for first := int64(0); first < n; first += *chunk {
			h := h
			h.First, h.N = first, min(*chunk, n-first)
			h.From = now.Add(-span).Add(time.Duration(first) * h.Step)
			g.Go(func() error {
				if err := hs.FillHistory(gctx, h); err != nil {
					return fmt.Errorf("filling: %w", err)
				}
				d := done.Add(h.N)
				fmt.Fprintf(stderr, "\rfilled %d of %d deliveries (%.0f a second)", d, n, float64(d)/time.Since(start).Seconds())
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return err
		}
		fmt.Fprintln(stderr)
		r.FillSeconds = time.Since(start).Seconds()
		if settler, ok := hs.(historySettler); ok {
			start = time.Now()
			if err := settler.SettleHistory(ctx); err != nil {
				return fmt.Errorf("vacuuming: %w", err)
			}
			r.SettleSeconds = time.Since(start).Seconds()
		}
	}
	var deliveries int64
	if r.Attempts, deliveries, r.Bytes, err = hs.HistorySize(ctx); err != nil {
		return err
	}
	r.Deliveries = deliveries
	r.Added = r.Attempts - attempts
	if r.FillSeconds > 0 {
		r.FillRowsASecond = float64(r.Added) / r.FillSeconds
	}
	if deliveries > 0 {
		r.BytesPerMillion = r.Bytes * 1_000_000 / deliveries
	}
	if err := measureHistory(ctx, hs, hooks[0], live, &r); err != nil {
		return err
	}
	if *expire > 0 {
		start := time.Now()
		if r.ExpiredRows, err = hs.Prune(ctx, hookd.SystemClock.Now().Add(-*expire)); err != nil {
			return fmt.Errorf("expiring: %w", err)
		}
		r.ExpireMS = float64(time.Since(start).Microseconds()) / 1000
	}
	r.LoadAfter = loadAverage()
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	fmt.Fprintf(stdout, `database            %s
attempts            %d (%d added in %.0fs, %.0f a second; then vacuumed in %.0fs)
deliveries          %d
disk                %.1f MB, %.1f MB per million deliveries
load average        %s before, %s after (1, 5, 15 min)
medians             publish 1 event %.2f ms, 100 events %.2f ms
                    claim 100 %.2f ms, complete 100 %.2f ms
                    log page 1 %.2f ms, page 100 %.2f ms (100 entries a page)
                    queue stats %.2f ms, a webhook with its figures %.2f ms
expired             %d rows in %.0f ms
`, r.Database, r.Attempts, r.Added, r.FillSeconds, r.FillRowsASecond, r.SettleSeconds, r.Deliveries,
		float64(r.Bytes)/1e6, float64(r.BytesPerMillion)/1e6, r.LoadBefore, r.LoadAfter,
		r.PublishOneMS, r.PublishHundredMS, r.Claim100MS, r.Complete100MS, r.LogFirstPageMS, r.LogDeepPageMS,
		r.QueueStatsMS, r.WebhookMS, r.ExpiredRows, r.ExpireMS)
	return nil
}

// generatorWebhooks returns the ids of the n history webhooks and of the
// live one, creating those missing (a second run adds to the first's).
func generatorWebhooks(ctx context.Context, s hookd.Store, n int) (hooks []int64, live int64, err error) {
	existing, err := s.ListWebhooks(ctx, hookd.WebhookFilter{})
	if err != nil {
		return nil, 0, err
	}
	byName := map[string]int64{}
	for _, w := range existing {
		byName[w.Name] = w.ID
	}
	create := func(name, event string) (int64, error) {
		if id, ok := byName[name]; ok {
			return id, nil
		}
		// Port 9 of loopback (discard): never called, the generator sends nothing.
		w := &hookd.Webhook{Name: name, HTTPURL: "http://127.0.0.1:9/", HTTPMethod: "POST", TriggerEvents: []string{event}}
		if err := s.CreateWebhook(ctx, w, hookd.NewSigningSecret()); err != nil {
			return 0, err
		}
		return w.ID, nil
	}
	for i := range n {
		id, err := create(fmt.Sprintf("%s%d", generatedWebhook, i), "ASSET_ADDED")
		if err != nil {
			return nil, 0, err
		}
		hooks = append(hooks, id)
	}
	live, err = create(liveWebhook, liveEvent)
	return hooks, live, err
}

// measureHistory times the store's calls on the filled database: medians of
// their latencies, one call at a time.
func measureHistory(ctx context.Context, s hookd.Store, historyHook, live int64, r *generateReport) error {
	timed := func(n int, call func(i int) error) (float64, error) {
		took := make([]time.Duration, 0, n)
		for i := range n {
			start := time.Now()
			if err := call(i); err != nil {
				return 0, err
			}
			took = append(took, time.Since(start))
		}
		return medianMS(took), nil
	}
	event := func() *hookd.Event {
		return &hookd.Event{Event: liveEvent, Data: json.RawMessage(`{"asset":{"id":1,"title":"measured"}}`)}
	}
	var err error
	if r.PublishOneMS, err = timed(200, func(int) error {
		_, err := s.PublishEvents(ctx, []*hookd.Event{event()})
		return err
	}); err != nil {
		return fmt.Errorf("publishing: %w", err)
	}
	if r.PublishHundredMS, err = timed(20, func(int) error {
		batch := make([]*hookd.Event, 100)
		for i := range batch {
			batch[i] = event()
		}
		_, err := s.PublishEvents(ctx, batch)
		return err
	}); err != nil {
		return fmt.Errorf("publishing: %w", err)
	}
	// Claim and complete the 2,200 deliveries just published, 100 at a
	// time (the webhook's share, a quarter of 400 workers, is 100: each
	// claim is completed before the next).
	var claims, completes []time.Duration
	claimedAll := 0
	for i := range 22 {
		worker := fmt.Sprintf("generate-%d", i)
		start := time.Now()
		c, err := s.Claim(ctx, hookd.ClaimRequest{Worker: worker, Limit: 100, Lease: time.Minute, Workers: 400})
		if err != nil {
			return fmt.Errorf("claiming: %w", err)
		}
		claims = append(claims, time.Since(start))
		claimedAll += len(c.Deliveries)
		results := make([]hookd.AttemptResult, 0, len(c.Deliveries))
		for _, d := range c.Deliveries {
			results = append(results, hookd.AttemptResult{DeliveryID: d.ID, WebhookID: d.WebhookID, Worker: worker,
				Attempt: 1, At: hookd.SystemClock.Now(), Success: true, HTTPStatus: 200, Duration: 42 * time.Millisecond,
				RequestHeaders: map[string]string{"webhook-id": d.MessageID}, ResponseBody: `{"ok":true}`})
		}
		start = time.Now()
		if err := s.Complete(ctx, results); err != nil {
			return fmt.Errorf("completing: %w", err)
		}
		completes = append(completes, time.Since(start))
	}
	if claimedAll != 2200 {
		return fmt.Errorf("claimed %d of the 2200 deliveries published", claimedAll)
	}
	r.Claim100MS, r.Complete100MS = medianMS(claims), medianMS(completes)
	if r.LogFirstPageMS, err = timed(50, func(int) error {
		_, err := s.Log(ctx, historyHook, true, 1, 100)
		return err
	}); err != nil {
		return fmt.Errorf("reading the log: %w", err)
	}
	if r.LogDeepPageMS, err = timed(20, func(int) error {
		_, err := s.Log(ctx, historyHook, true, 100, 100)
		return err
	}); err != nil {
		return fmt.Errorf("reading the log: %w", err)
	}
	if r.QueueStatsMS, err = timed(50, func(int) error {
		_, err := s.QueueStats(ctx)
		return err
	}); err != nil {
		return fmt.Errorf("reading queue stats: %w", err)
	}
	r.WebhookMS, err = timed(50, func(int) error {
		_, err := s.Webhook(ctx, live)
		return err
	})
	return err
}

func medianMS(d []time.Duration) float64 {
	d = slices.Clone(d)
	slices.Sort(d)
	return float64(d[len(d)/2].Microseconds()) / 1000
}

// loadAverage reads the machine's load averages (1, 5 and 15 minutes):
// the machine may be shared, which the figures depend on.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
