package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/api"
	"github.com/hookd/hookd/client"
	"github.com/hookd/hookd/internal/bench"
	"github.com/hookd/hookd/internal/delivery"
	"github.com/hookd/hookd/internal/metrics"
	"github.com/hookd/hookd/internal/postgres"
	"github.com/hookd/hookd/internal/sqlite"
	"github.com/hookd/hookd/internal/storeopt"
	"github.com/hookd/hookd/internal/tracing"
)

// The bench runs hookd in this process, as serve does (newService: the
// store, the API on 127.0.0.1 and the dispatcher), so that the CPU and peak
// RSS it reports are hookd's: getrusage and /proc/self of this process. The
// publishing client and the receiver are child processes (hookd
// bench-publisher, hookd bench-receiver), so that their work does not count
// as hookd's; their CPU is reported apart. The raw-client
// limit runs against the same receiver before hookd starts and again after
// it stops: the ratio is to their mean, because a shared machine's speed
// drifts within a run.

type benchConfig struct {
	database      string
	webhooks      int
	idleWebhooks  int
	events        int
	batch         int
	publishers    int
	rate          float64
	duration      time.Duration
	failRate      float64
	retrySchedule string
	concurrency   int
	timeout       time.Duration
	hostile       int
	filtered      int // webhooks with a filter no event passes
	replay        bool
	orderedLanes  int
	hostileKinds  []bench.HostileKind
	hostileShare  float64
	backlog       bool
	wait          time.Duration
	raw           bool
	pad           int
	asJSON        bool
	cpuProfile    string
	memProfile    string
	keep          bool
	logLevel      string
	metrics       bool
}

func benchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench", stderr)
	var c benchConfig
	fs.StringVar(&c.database, "database", "", "SQLite file to create (must not exist; default: a temporary file), or a postgres:// URL (the bench creates a schema of its own there and drops it)")
	fs.IntVar(&c.webhooks, "webhooks", 10, "webhooks to create, all matching every event (the fan-out)")
	fs.IntVar(&c.idleWebhooks, "idle-webhooks", 0, "also create this many webhooks that match no event (what publishing costs beside webhooks that do not want the event)")
	fs.IntVar(&c.events, "events", 2000, "events to publish")
	fs.IntVar(&c.batch, "batch", 500, "events a publish request, 1 to 1000 (1: POST /api/v2/events, one event a request)")
	fs.IntVar(&c.publishers, "publishers", 0, "publish requests in flight at full speed (default 2 for batches, 16 for single events)")
	fs.Float64Var(&c.rate, "rate", 0, "publish at this many events a second instead of at full speed")
	fs.DurationVar(&c.duration, "duration", 0, "with --rate: publish for this long (events = rate × duration); with --backlog: deliver for this long at most")
	fs.Float64Var(&c.failRate, "fail-rate", 0, "fraction of requests the receiver answers with 500")
	fs.StringVar(&c.retrySchedule, "retry-schedule", "", "hookd's retry schedule (default: serve's, or 1s,1s,2s,2s,2s with --fail-rate so that the run converges)")
	fs.IntVar(&c.concurrency, "concurrency", delivery.DefaultConcurrency, "hookd's attempts in flight, and the raw client's")
	fs.DurationVar(&c.timeout, "timeout", delivery.DefaultTimeout, "hookd's timeout of one delivery attempt")
	fs.IntVar(&c.hostile, "hostile", 0, "also create this many webhooks whose receivers misbehave (--hostile-kinds); the report's delivery figures are then the healthy webhooks'")
	hostileKinds := fs.String("hostile-kinds", bench.JoinHostileKinds(bench.DefaultHostileKinds), "with --hostile: the receivers' kinds, given in turn to the hostile webhooks: hang (never answers), slow (headers, then a byte a second), upgrade (101, then silent), reset, fail (500); also late (200, a tenth before --timeout)")
	fs.BoolVar(&c.replay, "replay", false, "after the run, replay every accepted event to every webhook (include_succeeded) and report the replayed deliveries a second")
	fs.IntVar(&c.filtered, "filtered", 0, "also create this many webhooks subscribed to every event, each with a payload filter that reads data and that no event passes: the publish figures then include matching them (compare with a run without)")
	fs.Float64Var(&c.hostileShare, "hostile-share", 1, "with --hostile: the fraction of the events the hostile webhooks match (the healthy ones match every event)")
	fs.IntVar(&c.orderedLanes, "ordered-lanes", 0, "order every webhook's deliveries (ordering data.lane) in this many lanes, event i in lane i mod N; the report gives the deliveries a second of one lane (0: unordered)")
	fs.BoolVar(&c.backlog, "backlog", false, "publish every event before delivery starts (the whole queue in the database), then deliver")
	fs.DurationVar(&c.wait, "wait", 2*time.Minute, "how long to wait for the deliveries after the last event is accepted")
	fs.BoolVar(&c.raw, "raw", true, "measure the raw-client limit, before hookd starts and after it stops")
	fs.IntVar(&c.pad, "pad", 64, "bytes of padding in each event's data")
	fs.BoolVar(&c.asJSON, "json", false, "print the report as JSON")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of the hookd phase to this file")
	fs.StringVar(&c.memProfile, "memprofile", "", "write a profile of the allocations, taken at the end of the hookd phase (the setup's few are in it too), to this file")
	fs.BoolVar(&c.keep, "keep", false, "keep the database (SQLite file or PostgreSQL schema) after the run")
	fs.StringVar(&c.logLevel, "log-level", "warn", "hookd's log level")
	fs.BoolVar(&c.metrics, "metrics", true, "count and time as serve does by default (Prometheus metrics)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if c.webhooks < 1 || c.idleWebhooks < 0 || c.events < 1 || c.batch < 1 || c.batch > 1000 || c.concurrency < 1 || c.failRate < 0 || c.failRate >= 1 {
		return errors.New("invalid settings: --webhooks, --events and --concurrency at least 1, --batch 1 to 1000, --fail-rate in [0, 1)")
	}
	if c.timeout < time.Second || c.hostile < 0 || c.filtered < 0 || c.hostileShare <= 0 || c.hostileShare > 1 || c.orderedLanes < 0 {
		return errors.New("invalid settings: --timeout at least 1s, --hostile, --filtered and --ordered-lanes not negative, --hostile-share in (0, 1]")
	}
	if c.replay && (c.hostile > 0 || c.failRate > 0) {
		return errors.New("invalid settings: --replay goes without --hostile and --fail-rate (the receiver counts the replay's deliveries as duplicates of successes)")
	}
	var err error
	if c.hostileKinds, err = bench.ParseHostileKinds(*hostileKinds); err != nil {
		return fmt.Errorf("invalid --hostile-kinds: %w", err)
	}
	if c.rate > 0 && c.duration > 0 && !c.backlog {
		c.events = max(1, int(c.rate*c.duration.Seconds()))
	}
	if c.publishers <= 0 {
		c.publishers = 2
		if c.batch == 1 {
			c.publishers = 16
		}
	}
	if c.retrySchedule == "" {
		c.retrySchedule = delivery.DefaultScheduleString
		if c.failRate > 0 {
			c.retrySchedule = "1s,1s,2s,2s,2s"
		}
	}
	schedule, err := delivery.ParseSchedule(c.retrySchedule)
	if err != nil {
		return fmt.Errorf("invalid --retry-schedule: %w", err)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return fmt.Errorf("invalid --log-level %q", c.logLevel)
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	rep, err := runBench(ctx, c, schedule, logger, stderr)
	if err != nil {
		return err
	}
	return rep.Write(stdout, c.asJSON)
}

func runBench(ctx context.Context, c benchConfig, schedule []time.Duration, logger *slog.Logger, stderr io.Writer) (*bench.Report, error) {
	started := time.Now()
	expected := int64(c.events) * int64(c.webhooks)
	rep := &bench.Report{
		Mode: "full speed", Webhooks: c.webhooks, IdleWebhooks: c.idleWebhooks, Events: c.events, Expected: expected, Batch: c.batch,
		Rate: c.rate, Concurrency: c.concurrency, Timeout: c.timeout.String(), FailRate: c.failRate, RetrySchedule: c.retrySchedule,
		OrderedLanes: c.orderedLanes, GOMAXPROCS: runtime.GOMAXPROCS(0), Started: started.UTC().Format(time.RFC3339),
	}
	switch {
	case c.backlog:
		rep.Mode = "backlog"
	case c.rate > 0:
		rep.Mode = "rate"
	}
	progress := func(format string, a ...any) { fmt.Fprintf(stderr, "bench: "+format+"\n", a...) }

	// The receiver, in a child process.
	recv, err := startBenchReceiver(c.failRate, len(schedule)+1)
	if err != nil {
		return nil, err
	}
	defer recv.Stop()
	hookURL := "http://" + recv.Addr + "/hook/"

	// Tracing off, as serve has it by default.
	tracing.Off()

	// The store, fresh, with its statements timed as serve times them.
	var m *metrics.Metrics
	var observe hookd.QueryObserver
	if c.metrics {
		m = metrics.New()
		observe = m.ObserveQuery
	}
	store, database, cleanup, err := openBenchStore(ctx, c.database, c.keep, observe, progress)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	rep.Database = database
	counting := &bench.CountingStore{Store: store}

	// The raw limit: a plain client, the same bodies, the same receiver.
	sample := delivery.Body(&hookd.Event{ID: hookd.NewEventID(), Event: "ASSET_ADDED", CreatedAt: hookd.SystemClock.Now(),
		Data: []byte(fmt.Sprintf(`{%q:%d,"asset_id":"A1","pad":%q}`, bench.SentField, time.Now().UnixNano(), strings.Repeat("x", c.pad)))}, 1)
	rawLimit := func(when string) (float64, error) {
		n := int(min(expected, 50000))
		progress("raw client %s: %d requests, %d in flight", when, n, c.concurrency)
		return bench.RawLimit(ctx, hookURL+"raw", sample, n, c.concurrency)
	}
	if c.raw {
		if rep.RawBefore, err = rawLimit("before hookd"); err != nil {
			return nil, err
		}
	}

	// The hostile receivers, in this process (they do next to no work),
	// each connection held at most as long as the bench waits.
	var hostile []*bench.HostileReceiver
	closeHostile := func() {
		for _, h := range hostile {
			h.Close()
		}
	}
	defer closeHostile()
	if c.hostile > 0 {
		for _, kind := range c.hostileKinds[:min(len(c.hostileKinds), c.hostile)] {
			h, err := bench.StartHostile(kind, hostileMaxConns, c.wait, c.timeout*9/10)
			if err != nil {
				return nil, err
			}
			hostile = append(hostile, h)
		}
	}

	// hookd, as serve runs it, with metrics (serve's default) but without
	// the API's rate limit, which would throttle the publisher.
	allow, _ := delivery.ParseAllowList("127.0.0.0/8")
	svc, err := newService(counting, serviceOptions{
		logger: logger, allowPrivate: allow, schedule: schedule, concurrency: c.concurrency,
		timeout: c.timeout, lease: max(delivery.DefaultLease, c.timeout+delivery.DefaultLeaseMargin),
		shutdownGrace: benchShutdownGrace, metrics: m, clock: hookd.SystemClock,
	})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go svc.server.Serve(ln)
	defer svc.server.Close()
	baseURL := "http://" + ln.Addr().String()

	key, err := hookd.IssueAPIKey(ctx, store, hookd.DefaultUserID, "bench", hookd.RoleAdmin)
	if err != nil {
		return nil, err
	}
	admin := client.New(baseURL, key)
	// Every event matches the healthy webhooks; with --hostile-share below
	// 1, only that share of them (named benchEvent) the hostile ones too.
	plan := bench.PublishPlan{BaseURL: baseURL, APIKey: key, Event: benchEvent, Batch: c.batch, Pad: c.pad,
		Lanes: c.orderedLanes, Total: c.events, Workers: c.publishers, Rate: c.rate}
	healthyEvents := []string{benchEvent}
	if hostile != nil && c.hostileShare < 1 {
		plan.Else, plan.Share = healthyOnlyEvent, c.hostileShare
		healthyEvents = append(healthyEvents, healthyOnlyEvent)
	}
	healthy := map[int64]bool{}
	for i := range c.webhooks {
		w, err := admin.CreateWebhook(ctx, api.NewWebhook{
			Name: "bench " + strconv.Itoa(i+1), HTTPURL: hookURL + strconv.Itoa(i+1), HTTPMethod: "POST",
			TriggerEvents: healthyEvents,
		})
		if err != nil {
			return nil, fmt.Errorf("create webhook: %w", err)
		}
		if c.orderedLanes > 0 {
			if _, err := admin.UpdateSettings(ctx, w.ID, map[string]any{"ordering": "data.lane"}); err != nil {
				return nil, fmt.Errorf("order webhook: %w", err)
			}
		}
		healthy[w.ID] = true
	}
	for i := range c.idleWebhooks {
		if _, err := admin.CreateWebhook(ctx, api.NewWebhook{
			Name: "bench idle " + strconv.Itoa(i+1), HTTPURL: hookURL + "idle", HTTPMethod: "POST",
			TriggerEvents: []string{idleEvent},
		}); err != nil {
			return nil, fmt.Errorf("create webhook: %w", err)
		}
	}
	for i := range c.hostile {
		h := hostile[i%len(hostile)]
		if _, err := admin.CreateWebhook(ctx, api.NewWebhook{
			Name: fmt.Sprintf("bench %s %d", h.Kind, i+1), HTTPURL: fmt.Sprintf("http://%s/hook/%d", h.Addr, i+1), HTTPMethod: "POST",
			TriggerEvents: []string{benchEvent},
		}); err != nil {
			return nil, fmt.Errorf("create webhook: %w", err)
		}
	}

	if err := createFiltered(ctx, admin, c.filtered, hookURL, healthyEvents); err != nil {
		return nil, err
	}
	rep.Filtered = c.filtered

	publisher, err := benchChild("bench-publisher")
	if err != nil {
		return nil, err
	}
	xacts := dbTransactions(ctx, store)
	var memProfile *os.File // created now, so that a bad path fails before the run
	if c.memProfile != "" {
		if memProfile, err = os.Create(c.memProfile); err != nil {
			return nil, err
		}
		defer memProfile.Close()
	}
	if c.cpuProfile != "" {
		f, err := os.Create(c.cpuProfile)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, err
		}
		defer pprof.StopCPUProfile()
	}
	runtime.GC()
	bench.ResetPeakRSS()
	cpu0 := bench.CPUTime()

	workCtx, stopWork := context.WithCancel(context.Background())
	defer stopWork()
	dispatched := make(chan error, 1)
	var deliverStart time.Time
	startDelivery := func() {
		deliverStart = time.Now()
		go func() { dispatched <- svc.dispatcher.Run(workCtx) }()
	}
	if !c.backlog {
		startDelivery()
	}

	var accepted, delivered atomic.Int64
	progCtx, stopProgress := context.WithCancel(ctx)
	progDone := make(chan struct{})
	go func() {
		defer close(progDone)
		bench.Progress(progCtx, stderr, expected, func() (int64, int64) {
			return accepted.Load(), delivered.Load()
		})
	}()
	poll := func() (bench.Stats, error) {
		s, err := recv.Stats(ctx, false)
		if err == nil {
			delivered.Store(s.Delivered)
		}
		return s, err
	}
	pollDone := make(chan struct{})
	stopPolling := make(chan struct{})
	go func() {
		defer close(pollDone)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stopPolling:
				return
			case <-t.C:
				poll()
			}
		}
	}()

	published, err := bench.RunPublisher(ctx, publisher, plan, &accepted)
	first, last := published.Window()
	rep.Accepted = published.Accepted
	rep.PublishP50, rep.PublishP99, rep.PublishMax = published.P50, published.P99, published.Max
	rep.PublisherCPUSeconds = published.CPUSeconds
	rep.IntakeSeconds = last.Sub(first).Seconds()
	rep.EventsPerSecond = float64(rep.Accepted) / max(rep.IntakeSeconds, 1e-9)
	if err != nil {
		close(stopPolling)
		stopProgress()
		return nil, fmt.Errorf("publishing: %w", err)
	}
	deadline := time.Now().Add(c.wait)
	if c.backlog {
		progress("%d deliveries queued in %.1fs; delivering", expected, rep.IntakeSeconds)
		startDelivery()
		if c.duration > 0 {
			deadline = time.Now().Add(c.duration)
		}
	}

	// Wait until every delivery arrived (or failed for good).
	var st bench.Stats
	for {
		st, err = recv.Stats(ctx, false)
		if err != nil {
			break
		}
		if st.Delivered+st.FailedForGood >= rep.Accepted*int64(c.webhooks) || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	close(stopPolling)
	<-pollDone
	// A moment for duplicates, which a healthy run has none of, to show.
	time.Sleep(300 * time.Millisecond)
	cpu := bench.CPUTime() - cpu0
	stopProgress()
	<-progDone
	pprof.StopCPUProfile()
	if memProfile != nil {
		runtime.GC() // the profile counts allocations up to the last collection
		if err := pprof.Lookup("allocs").WriteTo(memProfile, 0); err != nil {
			return nil, err
		}
	}

	if c.replay {
		if rep.Replay, err = benchReplay(ctx, admin, recv, healthy, started, rep.Accepted, c.wait, func() {
			go svc.dispatcher.Replays(workCtx, delivery.DefaultReplayInterval)
		}, progress); err != nil {
			return nil, err
		}
	}

	// Stop delivering (attempts in flight finish and are recorded), then
	// count: what the receiver got, and what is still queued. Hostile
	// receivers may hold attempts past hookd's grace: the run still ends.
	stopping := time.Now()
	stopWork()
	overran := false
	if hostile == nil {
		<-dispatched
	} else {
		select {
		case <-dispatched:
		case <-time.After(benchShutdownGrace + 2*time.Second):
			overran = true
			progress("hookd's dispatcher has not stopped %s after its grace period: closing the hostile receivers", time.Since(stopping).Round(time.Millisecond))
			closeHostile()
			<-dispatched
		}
	}
	stopSeconds := time.Since(stopping).Seconds()
	closeHostile()
	// The peak of the whole hookd phase, its shutdown included.
	rep.PeakRSSMB = bench.PeakRSSMB()
	st, err = recv.Stats(ctx, true)
	if err != nil {
		return nil, fmt.Errorf("receiver: %w", err)
	}
	if c.raw {
		if rep.RawAfter, err = rawLimit("after hookd"); err != nil {
			return nil, err
		}
	}
	queued, hostileQueued := int64(0), int64(0)
	if ws, err := store.ListWebhooks(ctx, hookd.WebhookFilter{}); err == nil {
		for _, w := range ws {
			if healthy[w.ID] {
				queued += int64(w.QueueLength + w.RetryQueueLength)
			} else {
				hostileQueued += int64(w.QueueLength + w.RetryQueueLength)
			}
		}
	}
	if hostile != nil {
		rep.Hostile = &bench.HostileReport{
			Webhooks: c.hostile, Share: c.hostileShare, Pending: hostileQueued, StopSeconds: stopSeconds, StopOverran: overran,
			// The publisher names the first ⌊n × share⌋ of every n events benchEvent.
			Expected: int64(float64(rep.Accepted)*c.hostileShare) * int64(c.hostile),
		}
		for _, h := range hostile {
			s := h.Stats()
			rep.Hostile.Kinds = append(rep.Hostile.Kinds, h.Kind)
			rep.Hostile.ByKind = append(rep.Hostile.ByKind, s)
			rep.Hostile.Attempts += s.Requests
		}
	}
	if x := dbTransactions(context.Background(), store); x > 0 && xacts > 0 && st.Delivered > 0 {
		rep.DBXactsPerD = float64(x-xacts) / float64(st.Delivered)
	}

	from := first
	if c.backlog {
		from = deliverStart
	}
	rep.Delivered = st.Delivered
	if st.LastNS > 0 {
		rep.DeliverySeconds = time.Unix(0, st.LastNS).Sub(from).Seconds()
		rep.DeliveriesPerSecond = float64(st.Delivered) / rep.DeliverySeconds
	}
	if c.raw {
		rep.RawPerSecond = (rep.RawBefore + rep.RawAfter) / 2
		rep.RawRatio = rep.DeliveriesPerSecond / rep.RawPerSecond
	}
	if c.orderedLanes > 0 {
		rep.PerLanePerSecond = rep.DeliveriesPerSecond / float64(c.webhooks*c.orderedLanes)
	}
	rep.P50, rep.P90, rep.P99, rep.Max = st.P50, st.P90, st.P99, st.Max
	rep.Duplicates = st.Duplicates
	if rep.Replay != nil {
		rep.Duplicates -= rep.Replay.Delivered
		rep.Delivered -= rep.Replay.NewIDs
	}
	rep.Attempts = st.Attempts
	rep.FailedForGood = st.FailedForGood
	rep.Retried = st.FailedAttempts - st.FailedForGood
	rep.Missing = rep.Accepted*int64(c.webhooks) - st.Delivered - st.FailedForGood
	rep.Pending = min(queued, rep.Missing)
	rep.Lost = rep.Missing - rep.Pending
	if rep.Missing < 0 {
		rep.Missing = 0
	}
	rep.CPUSeconds = cpu.Seconds()
	rep.ReceiverCPUSeconds = st.CPUSeconds
	rep.ReceiverRSSMB = st.PeakRSSMB
	rep.Claims, rep.Completes, rep.Publishes = counting.Claims.Load(), counting.Completes.Load(), counting.Publishes.Load()
	rep.HandedOff = counting.HandedOff.Load()
	if rep.Claims > 0 {
		rep.AvgClaim = float64(counting.Claimed.Load()) / float64(rep.Claims)
	}
	if rep.Completes > 0 {
		rep.AvgComplete = float64(counting.Completed.Load()) / float64(rep.Completes)
	}
	rep.ClaimMS = bench.MeanMS(counting.ClaimTime.Load(), rep.Claims)
	rep.CompleteMS = bench.MeanMS(counting.CompleteTime.Load(), rep.Completes)
	rep.PublishMS = bench.MeanMS(counting.PublishTime.Load(), rep.Publishes)
	if st.Delivered > 0 {
		calls := rep.Claims + counting.TargetReads.Load() + rep.Completes + rep.Publishes
		rep.StoreCallsPerD = float64(calls) / float64(st.Delivered)
	}
	rep.WallSeconds = time.Since(started).Seconds()
	if c.backlog && rep.Pending > 0 {
		progress("stopped after %s with %d deliveries still queued", c.duration, rep.Pending)
	}
	return rep, nil
}

const (
	// benchEvent is the event the bench publishes, which every webhook
	// matches; healthyOnlyEvent names the events beyond --hostile-share,
	// which only the healthy webhooks match.
	benchEvent       = "ASSET_ADDED"
	healthyOnlyEvent = "ASSET_REMOVED"
	idleEvent        = "PROJECT_REMOVED" // no bench event: the idle webhooks' subscription
	// benchShutdownGrace is how long hookd's attempts may take to finish
	// once the bench stops delivery.
	benchShutdownGrace = 5 * time.Second
	// hostileMaxConns bounds each hostile receiver's open connections
	// (hookd holds at most --concurrency in attempts, plus idle ones).
	hostileMaxConns = 1024
)

// benchChild is the command of one of the bench's child processes (this
// binary, with args).
func benchChild(args ...string) (*exec.Cmd, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, args...)
	cmd.Stderr = os.Stderr
	return cmd, nil
}

// startBenchReceiver runs "hookd bench-receiver" as a child process.
func startBenchReceiver(failRate float64, maxAttempts int) (*bench.ReceiverProcess, error) {
	cmd, err := benchChild("bench-receiver", "--fail-rate", strconv.FormatFloat(failRate, 'g', -1, 64),
		"--max-attempts", strconv.Itoa(maxAttempts))
	if err != nil {
		return nil, err
	}
	return bench.StartReceiver(func() (io.WriteCloser, io.Reader, func() error, error) {
		stdin, err := cmd.StdinPipe()
		if err != nil {
			return nil, nil, nil, err
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return nil, nil, nil, err
		}
		if err := cmd.Start(); err != nil {
			return nil, nil, nil, err
		}
		return stdin, stdout, cmd.Wait, nil
	})
}

// benchPublisher is the "hookd bench-publisher" child: it publishes the
// plan read from stdin (bench.ServePublisher).
func benchPublisher(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if err := parseFlags(newFlagSet("bench-publisher", stderr), args); err != nil {
		return err
	}
	return bench.ServePublisher(ctx, os.Stdin, stdout)
}

// benchReceiver is the "hookd bench-receiver" child: it serves until its
// stdin closes.
func benchReceiver(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench-receiver", stderr)
	failRate := fs.Float64("fail-rate", 0, "fraction of requests answered 500")
	maxAttempts := fs.Int("max-attempts", 0, "attempts after which a delivery has failed for good")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	return bench.ServeReceiver(ctx, *failRate, *maxAttempts, os.Stdin, stdout)
}

// openBenchStore opens a fresh store for the bench: a new SQLite file, or
// a new schema in the PostgreSQL database, which cleanup drops (unless
// keep). observe, when not nil, is told of every statement (metrics).
func openBenchStore(ctx context.Context, database string, keep bool, observe hookd.QueryObserver, progress func(string, ...any)) (hookd.Store, string, func(), error) {
	if strings.HasPrefix(database, "postgres://") || strings.HasPrefix(database, "postgresql://") {
		cfg, err := pgxpool.ParseConfig(database)
		if err != nil {
			return nil, "", nil, err
		}
		var b [4]byte
		rand.Read(b[:])
		schema := "hookd_bench_" + hex.EncodeToString(b[:])
		conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig.Copy())
		if err != nil {
			return nil, "", nil, err
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
			return nil, "", nil, err
		}
		drop := func() {
			if keep {
				progress("kept schema %s", schema)
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig.Copy()); err == nil {
				conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
				conn.Close(ctx)
			}
		}
		cfg.ConnConfig.RuntimeParams["search_path"] = schema
		cfg.ConnConfig.RuntimeParams["application_name"] = schema
		s, err := postgres.OpenConfig(ctx, cfg, storeopt.WithQueryObserver(observe))
		if err != nil {
			drop()
			return nil, "", nil, err
		}
		return s, "postgres", func() { s.Close(); drop() }, nil
	}
	dir := ""
	path := database
	if path == "" {
		var err error
		if dir, err = os.MkdirTemp("", "hookd-bench-"); err != nil {
			return nil, "", nil, err
		}
		path = filepath.Join(dir, "bench.db")
	} else if _, err := os.Stat(path); err == nil {
		return nil, "", nil, fmt.Errorf("%s exists: the bench needs a database of its own", path)
	}
	s, err := sqlite.Open(ctx, path, storeopt.WithQueryObserver(observe))
	if err != nil {
		if dir != "" {
			os.RemoveAll(dir)
		}
		return nil, "", nil, err
	}
	return s, "sqlite", func() {
		s.Close()
		switch {
		case keep:
			progress("kept %s", path)
		case dir != "":
			os.RemoveAll(dir)
		default:
			for _, suffix := range []string{"", "-wal", "-shm"} {
				os.Remove(path + suffix)
			}
		}
	}, nil
}

// dbTransactions returns the committed transactions of a PostgreSQL
// store's database so far (0 for SQLite, or when it cannot say).
func dbTransactions(ctx context.Context, s hookd.Store) int64 {
	pg, ok := s.(*postgres.Store)
	if !ok {
		return 0
	}
	var n int64
	// The statistics collector reports with a delay; a snapshot clear makes
	// the counts current for this session.
	pg.Pool().Exec(ctx, "SELECT pg_stat_clear_snapshot()")
	if err := pg.Pool().QueryRow(ctx, `SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()`).Scan(&n); err != nil {
		return 0
	}
	return n
}

// createFiltered creates n webhooks subscribed to events, each with a filter
// of its own (n programs to compile and run) that reads the event's data and
// that the bench's events never pass: they cost the intake its matching and
// add no delivery.
func createFiltered(ctx context.Context, admin *client.Client, n int, hookURL string, events []string) error {
	for i := range n {
		w, err := admin.CreateWebhook(ctx, api.NewWebhook{
			Name: fmt.Sprintf("bench filtered %d", i+1), HTTPURL: hookURL + "filtered", HTTPMethod: "POST", TriggerEvents: events,
		})
		if err != nil {
			return fmt.Errorf("create webhook: %w", err)
		}
		filter := fmt.Sprintf(`has(data.asset_id) && data.asset_id == "F%d" && user_id != null`, i)
		if _, err := admin.UpdateSettings(ctx, w.ID, map[string]any{"filter": filter}); err != nil {
			return fmt.Errorf("set a filter: %w", err)
		}
	}
	return nil
}

// benchReplay replays every event accepted since started to each webhook
// (include_succeeded), runs the replay loop (start), and waits until each
// delivery has arrived again or for wait.
func benchReplay(ctx context.Context, admin *client.Client, recv *bench.ReceiverProcess, webhooks map[int64]bool, started time.Time,
	accepted int64, wait time.Duration, start func(), progress func(string, ...any)) (*bench.ReplayReport, error) {
	before, err := recv.Stats(ctx, false)
	if err != nil {
		return nil, err
	}
	expected := accepted * int64(len(webhooks))
	// A replay skips an event whose delivery is still pending (README:
	// Replay): the receiver has every delivery, but their results may not
	// all be recorded yet.
	settled := time.Now().Add(wait)
	for id := range webhooks {
		for time.Now().Before(settled) {
			w, err := admin.Webhook(ctx, id)
			if err != nil {
				return nil, err
			}
			if w.QueueLength == 0 && w.RetryQueueLength == 0 {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	progress("replaying %d events to %d webhooks", accepted, len(webhooks))
	began := time.Now()
	for id := range webhooks {
		if _, err := admin.StartReplay(ctx, id, api.NewReplay{Since: started, IncludeSucceeded: true}); err != nil {
			return nil, fmt.Errorf("start a replay: %w", err)
		}
	}
	start()
	deadline := began.Add(wait)
	var st bench.Stats
	for {
		if st, err = recv.Stats(ctx, false); err != nil {
			return nil, err
		}
		if st.Duplicates-before.Duplicates+st.Delivered-before.Delivered >= expected || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	r := &bench.ReplayReport{Expected: expected, Delivered: st.Duplicates - before.Duplicates, NewIDs: st.Delivered - before.Delivered}
	if last := max(st.LastDuplicateNS, st.LastNS); last > 0 {
		r.Seconds = time.Unix(0, last).Sub(began).Seconds()
		r.PerSecond = float64(r.Delivered) / r.Seconds
	}
	return r, nil
}
