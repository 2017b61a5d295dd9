package delivery

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/hookd/hookd"
)

// Defaults of Config.
const (
	DefaultBatchSize     = 32
	DefaultLease         = 60 * time.Second
	DefaultPollInterval  = time.Second
	DefaultFlushInterval = 50 * time.Millisecond
	DefaultShutdownGrace = DefaultTimeout + 5*time.Second
)

// claimLinger is how long, with a backlog, the loop waits for more idle
// workers before claiming for the few it has.
const claimLinger = 5 * time.Millisecond

// Config configures a Dispatcher.
type Config struct {
	Store  hookd.Store
	Sender *Sender // default NewSender(SenderConfig{Concurrency: Concurrency})

	// Concurrency is how many attempts run at once (default
	// DefaultConcurrency).
	Concurrency int
	// BatchSize caps the deliveries claimed at once, and the attempts
	// recorded in one Store.Complete (default DefaultBatchSize).
	BatchSize int
	// Lease is how long a claimed delivery stays with this worker; a
	// delivery whose worker died is claimed again after it. It must cover an
	// attempt and its recording: at least the sender's timeout plus 15 s
	// (default DefaultLease).
	Lease time.Duration
	// PollInterval bounds the sleep between claims when nothing signals new
	// work (default DefaultPollInterval): retries become due without a
	// wakeup, and on a shared database other processes schedule some.
	PollInterval time.Duration
	// FlushInterval is how long results wait to be recorded together
	// (default DefaultFlushInterval).
	FlushInterval time.Duration
	// ShutdownGrace is how long Run lets running attempts finish after its
	// context ends; attempts still running then are cancelled and not
	// recorded: they do not count as attempts, and their deliveries are
	// claimed again once their lease expires (default DefaultShutdownGrace).
	ShutdownGrace time.Duration
	// WorkerID names this worker in leases (default host-pid-random). Each
	// claim leases its deliveries under WorkerID/<claim number>, and the
	// results name that lease, so a result that comes back after its lease
	// expired and another claim took the delivery over is not recorded
	// (Store.Complete).
	WorkerID string
	Logger   *slog.Logger // default slog.Default()
	// Leader elects the process that runs each round of Maintain when
	// several share the database. Default: Store, when it implements
	// hookd.Leader (postgres.Store and sqlite.Store do); nil, when it does
	// not, makes this dispatcher lead every round.
	Leader hookd.Leader
	// Observer, when set, is told of every attempt and of webhooks that the
	// dispatcher disables (metrics).
	Observer Observer
}

// Observer watches the dispatcher's work; metrics.Metrics implements it.
// Its methods are called from the workers and must be quick and safe for
// concurrent use.
type Observer interface {
	// Attempt is called with the outcome of every attempt, before it is
	// recorded.
	Attempt(r hookd.AttemptResult)
	// WebhooksDisabled is called when hookd disables n webhooks: reason
	// "gone" (a receiver answered 410) or "failing" (DisableFailing).
	WebhooksDisabled(reason string, n int)
}

// Reasons passed to Observer.WebhooksDisabled.
const (
	DisabledGone    = "gone"
	DisabledFailing = "failing"
)

// Dispatcher runs the delivery loop: it claims due deliveries, sends them
// with a bounded number of concurrent attempts, and records the outcomes.
type Dispatcher struct {
	store         hookd.Store
	sender        *Sender
	concurrency   int
	batchSize     int
	lease         time.Duration
	poll          time.Duration
	flushInterval time.Duration
	grace         time.Duration
	worker        string
	log           *slog.Logger
	observer      Observer
	leader        hookd.Leader

	// nextDue is the earliest retry this dispatcher scheduled and has not
	// claimed yet (UnixNano, 0 for none), so the loop wakes for it.
	nextDue atomic.Int64
	// dueChanged tells the sleeping loop that nextDue moved earlier.
	dueChanged chan struct{}
	// claims numbers the claims, to name each claim's lease.
	claims atomic.Uint64
}

// New returns a Dispatcher of cfg with its defaults filled in.
func New(cfg Config) (*Dispatcher, error) {
	if cfg.Store == nil {
		return nil, errors.New("delivery: Config.Store is nil")
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.Sender == nil {
		cfg.Sender = NewSender(SenderConfig{Concurrency: cfg.Concurrency})
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.Lease <= 0 {
		cfg.Lease = DefaultLease
	}
	if minLease := cfg.Sender.Timeout() + 15*time.Second; cfg.Lease < minLease {
		return nil, fmt.Errorf("delivery: lease %s is shorter than the attempt timeout plus 15s (%s)", cfg.Lease, minLease)
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = DefaultFlushInterval
	}
	if cfg.ShutdownGrace <= 0 {
		cfg.ShutdownGrace = DefaultShutdownGrace
	}
	if cfg.WorkerID == "" {
		cfg.WorkerID = defaultWorkerID()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Leader == nil {
		cfg.Leader, _ = cfg.Store.(hookd.Leader)
	}
	return &Dispatcher{
		store:         cfg.Store,
		sender:        cfg.Sender,
		concurrency:   cfg.Concurrency,
		batchSize:     cfg.BatchSize,
		lease:         cfg.Lease,
		poll:          cfg.PollInterval,
		flushInterval: cfg.FlushInterval,
		grace:         cfg.ShutdownGrace,
		worker:        cfg.WorkerID,
		log:           cfg.Logger.With("worker", cfg.WorkerID),
		observer:      cfg.Observer,
		leader:        cfg.Leader,
		dueChanged:    make(chan struct{}, 1),
	}, nil
}

func defaultWorkerID() string {
	host, _ := os.Hostname()
	if host == "" {
		host = "hookd"
	}
	var b [4]byte
	rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// Run claims, sends and records deliveries until ctx ends. It claims only
// as many deliveries as it has idle workers, so every claimed delivery is
// attempted at once and none waits on a lease. When ctx ends it stops
// claiming, lets running attempts finish for up to ShutdownGrace (then
// cancels them, and drops their results: see attempt), records every other
// outcome and returns nil. Store errors are
// logged and retried, never returned.
func (d *Dispatcher) Run(ctx context.Context) error {
	// Attempts and recording outlive ctx: they end after the grace period.
	sendCtx, cancelSends := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSends()

	results := make(chan hookd.AttemptResult, d.concurrency)
	recorded := make(chan struct{})
	go func() {
		defer close(recorded)
		d.record(results, ctx.Done())
	}()

	var (
		wg       sync.WaitGroup
		inflight atomic.Int64
		freed    = make(chan struct{}, 1)
	)
	start := func(t *hookd.Target, dl *hookd.Delivery, lease string) {
		inflight.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r, ok := d.attempt(sendCtx, t, dl); ok {
				r.Worker = lease
				results <- r
			}
			inflight.Add(-1)
			select {
			case freed <- struct{}{}:
			default:
			}
		}()
	}

	// With a backlog, workers free up one by one; gathering a few before
	// claiming again saves claim transactions.
	gather := max(1, min(d.batchSize, d.concurrency)/2)
	backlog := false
	timer := time.NewTimer(0)
	defer timer.Stop()
	for ctx.Err() == nil {
		// Wait for an idle worker, or for a few while there is a backlog.
		for inflight.Load() >= int64(d.concurrency) && ctx.Err() == nil {
			select {
			case <-freed:
			case <-ctx.Done():
			}
		}
		if backlog && d.concurrency-int(inflight.Load()) < gather {
			linger := time.After(claimLinger)
		gathering:
			for d.concurrency-int(inflight.Load()) < gather {
				select {
				case <-freed:
				case <-linger:
					break gathering
				case <-ctx.Done():
					break gathering
				}
			}
		}
		if ctx.Err() != nil {
			break
		}
		limit := min(d.concurrency-int(inflight.Load()), d.batchSize)
		n, err := d.claim(ctx, limit, start)
		backlog = err == nil && n == limit
		if err != nil {
			if ctx.Err() == nil {
				d.log.Error("claiming deliveries", "err", err)
			}
		} else if backlog {
			// There may be more due: claim again as soon as workers are idle.
			continue
		}
		// Nothing more is due: sleep until new work may be.
		wait := d.poll
		if err == nil {
			if due := d.nextDue.Load(); due != 0 {
				wait = min(wait, max(time.Until(time.Unix(0, due)), 0))
			}
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
		case <-d.store.Wakeup():
		case <-d.dueChanged:
		case <-timer.C:
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}

	// Shutdown: let running attempts finish, then record them.
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	if n := inflight.Load(); n > 0 {
		d.log.Info("waiting for running attempts", "attempts", n, "grace", d.grace)
	}
	select {
	case <-done:
	case <-time.After(d.grace):
		d.log.Warn("shutdown grace period over: cancelling running attempts (not recorded; retried after their lease)", "attempts", inflight.Load())
		cancelSends()
		<-done
	}
	close(results)
	<-recorded
	return nil
}

// claim claims up to limit due deliveries, reads their targets and starts
// an attempt for each. It returns how many it claimed.
func (d *Dispatcher) claim(ctx context.Context, limit int, start func(*hookd.Target, *hookd.Delivery, string)) (int, error) {
	now := hookd.Now()
	if due := d.nextDue.Load(); due != 0 && due <= now.UnixNano() {
		d.nextDue.CompareAndSwap(due, 0)
	}
	lease := fmt.Sprintf("%s/%d", d.worker, d.claims.Add(1))
	ds, err := d.store.Claim(ctx, lease, limit, d.lease)
	if err != nil || len(ds) == 0 {
		return 0, err
	}
	ids := make([]int64, 0, len(ds))
	seen := make(map[int64]bool, len(ds))
	for _, dl := range ds {
		if !seen[dl.WebhookID] {
			seen[dl.WebhookID] = true
			ids = append(ids, dl.WebhookID)
		}
	}
	// The deliveries are leased to us now: read their targets even if ctx
	// has just ended, and attempt them.
	targets, err := d.targets(ctx, ids, now)
	if err != nil {
		// They stay leased and are claimed again when the lease expires.
		return len(ds), fmt.Errorf("reading the targets of %d claimed deliveries: %w", len(ds), err)
	}
	for _, dl := range ds {
		start(targets[dl.WebhookID], dl, lease)
	}
	return len(ds), nil
}

// targetsPatience is how long claim tries to read the targets of deliveries
// it has claimed. A lease is at least the attempt timeout plus 15 s, so the
// attempt still fits in it after this.
const targetsPatience = 10 * time.Second

// targets reads the targets of claimed deliveries. When the store fails
// (a connection that the database closed, a restart) it tries again, with
// backoff, for up to targetsPatience, rather than leave the deliveries
// waiting for their lease; not once Run is stopping.
func (d *Dispatcher) targets(ctx context.Context, ids []int64, now time.Time) (map[int64]*hookd.Target, error) {
	giveUp := time.Now().Add(targetsPatience)
	backoff := 50 * time.Millisecond
	for {
		tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		targets, err := d.store.Targets(tctx, ids)
		cancel()
		if err == nil || ctx.Err() != nil || time.Now().Add(backoff).After(giveUp) {
			return targets, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(backoff):
		}
		backoff = min(backoff*3, time.Second)
	}
}

// attempt sends dl to t. The attempt is a span of the event's trace (when
// tracing is on), is told to the observer and logs one line: at debug level
// for a success, at info for a failure.
//
// It returns false, with nothing sent or recorded, when the webhook was
// disabled (or deleted) between the claim and reading its target: the
// store does not claim a disabled webhook's deliveries, which wait until it
// is enabled again, so this one is left to its lease, and is not claimed
// again while the webhook stays disabled. A deleted webhook's deliveries
// are deleted with it.
//
// It also returns false for an attempt that failed after ctx was cancelled: Run
// cancels it at the end of its shutdown grace, and hookd stopping is no
// fault of the receiver's, so the result is not recorded (it would count
// against the delivery's attempts). The delivery stays leased and is
// claimed again when the lease expires.
func (d *Dispatcher) attempt(ctx context.Context, t *hookd.Target, dl *hookd.Delivery) (hookd.AttemptResult, bool) {
	if t == nil || t.Disabled {
		d.log.Debug("delivery not sent: its webhook was disabled or deleted after the claim",
			"delivery", dl.ID, "webhook", dl.WebhookID)
		return hookd.AttemptResult{}, false
	}
	ctx, span := startAttemptSpan(ctx, t, dl)
	defer span.End()
	r := d.sender.Send(ctx, t, dl)
	if !r.Success && ctx.Err() != nil {
		d.log.Info("delivery attempt cancelled at shutdown: not recorded, the delivery is attempted again after its lease",
			"delivery", dl.ID, "webhook", dl.WebhookID, "attempt", r.Attempt)
		return r, false
	}
	endAttemptSpan(span, &r)
	if d.observer != nil {
		d.observer.Attempt(r)
		if r.DisableWebhook {
			d.observer.WebhooksDisabled(DisabledGone, 1)
		}
	}
	d.logAttempt(ctx, t, dl, &r)
	return r, true
}

// logAttempt logs one line for an attempt. It names the receiver by its
// host only (a URL's path or query may hold a token) and never logs header
// values or the body.
func (d *Dispatcher) logAttempt(ctx context.Context, t *hookd.Target, dl *hookd.Delivery, r *hookd.AttemptResult) {
	level, msg := slog.LevelDebug, "delivery attempt"
	if !r.Success {
		level, msg = slog.LevelInfo, "delivery attempt failed"
	}
	if !d.log.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.Int64("delivery", dl.ID), slog.Int64("webhook", dl.WebhookID), slog.String("event", dl.Event.Event),
		slog.String("message_id", dl.MessageID), slog.Int("attempt", r.Attempt),
	}
	if t != nil {
		attrs = append(attrs, slog.String("method", t.Method), slog.String("host", urlHost(t.URL)))
	}
	attrs = append(attrs, slog.Int("status", r.HTTPStatus), slog.Duration("duration", r.Duration))
	if !r.Success {
		attrs = append(attrs, slog.String("class", r.ErrorClass), slog.String("err", r.Error))
		if r.NextAttemptAt != nil {
			attrs = append(attrs, slog.Time("retry_at", *r.NextAttemptAt))
		} else {
			attrs = append(attrs, slog.Bool("final", true))
		}
		if r.DisableWebhook {
			attrs = append(attrs, slog.Bool("disable_webhook", true))
		}
	}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		attrs = append(attrs, slog.String("trace_id", sc.TraceID().String()))
	}
	d.log.LogAttrs(ctx, level, msg, attrs...)
}

// record writes results to the store in batches: a batch goes when it holds
// BatchSize results or FlushInterval after its first one arrived. It returns
// when results is closed, after writing what it holds. stopping is closed
// when the dispatcher begins to shut down (see complete).
func (d *Dispatcher) record(results <-chan hookd.AttemptResult, stopping <-chan struct{}) {
	batch := make([]hookd.AttemptResult, 0, d.batchSize)
	flush := time.NewTimer(time.Hour)
	flush.Stop()
	for {
		var r hookd.AttemptResult
		var ok bool
		if len(batch) == 0 {
			r, ok = <-results
		} else {
			select {
			case r, ok = <-results:
			case <-flush.C:
				d.complete(batch, stopping)
				batch = batch[:0]
				continue
			}
		}
		if !ok {
			if len(batch) > 0 {
				d.complete(batch, stopping)
			}
			return
		}
		batch = append(batch, r)
		if len(batch) == 1 {
			flush.Reset(d.flushInterval)
		}
		if len(batch) >= d.batchSize {
			if !flush.Stop() {
				select {
				case <-flush.C:
				default:
				}
			}
			d.complete(batch, stopping)
			batch = batch[:0]
		}
	}
}

// complete records a batch. When the store fails (the database is down or
// restarting) it tries again, with backoff, until the batch's leases end:
// a batch recorded after an outage spares the receivers a second delivery.
// Meanwhile the workers wait to hand over their results, so no more
// deliveries are claimed. After the leases the deliveries are claimed again
// and the results would be dropped as stale (Store.Complete), so the batch
// is dropped: its deliveries are attempted again (at-least-once). Once the
// dispatcher is stopping, it gives up after a few tries rather than hold up
// the shutdown.
func (d *Dispatcher) complete(batch []hookd.AttemptResult, stopping <-chan struct{}) {
	const minTries, maxBackoff = 4, time.Second
	leaseEnd := time.Now().Add(d.lease)
	for _, r := range batch {
		if !r.At.IsZero() && r.At.Add(d.lease).Before(leaseEnd) {
			leaseEnd = r.At.Add(d.lease) // r.At is when the attempt began, after its claim
		}
	}
	backoff := 100 * time.Millisecond
	var err error
	for try := 1; ; try++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = d.store.Complete(ctx, batch)
		cancel()
		if err == nil {
			if try > 1 {
				d.log.Info("recorded attempts after a store failure", "attempts", len(batch), "tries", try)
			}
			for _, r := range batch {
				if r.NextAttemptAt != nil {
					d.noteDue(*r.NextAttemptAt)
				}
			}
			return
		}
		if try <= minTries || try%10 == 0 {
			d.log.Warn("recording attempts", "attempts", len(batch), "try", try, "err", err)
		}
		if try >= minTries {
			if time.Now().Add(backoff).After(leaseEnd) {
				break
			}
			select {
			case <-stopping:
				d.log.Error("dropping attempt results at shutdown: their deliveries will be retried after the lease",
					"attempts", len(batch), "err", err)
				return
			default:
			}
		}
		time.Sleep(backoff)
		backoff = min(backoff*3, maxBackoff)
	}
	d.log.Error("dropping attempt results: their leases are over, their deliveries will be retried",
		"attempts", len(batch), "err", err)
}

// noteDue remembers t if it is the earliest retry not yet claimed.
func (d *Dispatcher) noteDue(t time.Time) {
	n := t.UnixNano()
	for {
		cur := d.nextDue.Load()
		if cur != 0 && cur <= n {
			return
		}
		if d.nextDue.CompareAndSwap(cur, n) {
			select {
			case d.dueChanged <- struct{}{}:
			default:
			}
			return
		}
	}
}

// Maintain runs the housekeeping every interval until ctx ends, first at
// once: it prunes attempts, finished deliveries and events older than
// retention (Store.Prune), and disables webhooks whose deliveries have failed
// without a success for disableAfter (Store.DisableFailing). A zero
// retention or disableAfter skips that task.
//
// Processes that share a database take turns: each round runs only in the
// process that wins the lead called MaintenanceLeader (Config.Leader) for
// that round, and releases it after; the others skip the round. So
// maintenance never runs in two processes at once, and runs up to once per
// interval in each process (its tasks are idempotent).
func (d *Dispatcher) Maintain(ctx context.Context, every, retention, disableAfter time.Duration) {
	if every <= 0 {
		every = time.Hour
	}
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	for {
		d.maintainOnce(ctx, retention, disableAfter)
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// MaintenanceLeader is the name of the lead that Maintain takes for each
// round.
const MaintenanceLeader = "maintenance"

func (d *Dispatcher) maintainOnce(ctx context.Context, retention, disableAfter time.Duration) {
	if d.leader != nil {
		release, ok, err := d.leader.TryLead(ctx, MaintenanceLeader)
		switch {
		case err != nil:
			if ctx.Err() == nil {
				d.log.Warn("maintenance skipped: electing its leader failed", "err", err)
			}
			return
		case !ok:
			d.log.Debug("maintenance skipped: another process leads this round")
			return
		}
		defer release()
	}
	now := hookd.Now()
	if retention > 0 {
		n, err := d.store.Prune(ctx, now.Add(-retention))
		switch {
		case err != nil && ctx.Err() == nil:
			d.log.Error("pruning old attempts and events", "err", err)
		case err == nil && n > 0:
			d.log.Info("pruned old attempts and events", "rows", n, "retention", retention)
		}
	}
	if disableAfter > 0 {
		ids, err := d.store.DisableFailing(ctx, now.Add(-disableAfter))
		switch {
		case err != nil && ctx.Err() == nil:
			d.log.Error("disabling failing webhooks", "err", err)
		case err == nil && len(ids) > 0:
			d.log.Warn("disabled webhooks failing for too long", "webhooks", ids, "failing_for", disableAfter)
			if d.observer != nil {
				d.observer.WebhooksDisabled(DisabledFailing, len(ids))
			}
		}
	}
}
