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

	"github.com/hookd/hookd"
)

// Defaults of Config.
const (
	DefaultBatchSize     = 64
	DefaultLease         = 60 * time.Second
	DefaultLeaseMargin   = 15 * time.Second
	DefaultPollInterval  = time.Second
	DefaultFlushInterval = 50 * time.Millisecond
	DefaultShutdownGrace = DefaultTimeout + 5*time.Second
)

// storeTimeout bounds one store call of the dispatcher's retried ones.
const storeTimeout = 10 * time.Second

// Config configures a Dispatcher.
type Config struct {
	Store  hookd.Store
	Sender *Sender // default NewSender(SenderConfig{Concurrency: Concurrency})
	// Policy decides what follows each attempt: a retry, the end of the
	// delivery, disabling the webhook (default DefaultPolicy()).
	Policy *Policy
	// Clock tells the time of attempts, of scheduled retries, of leases and
	// of maintenance cut-offs (default hookd.SystemClock). Give the store
	// the same one.
	Clock hookd.Clock

	// Concurrency is how many attempts run at once (default
	// DefaultConcurrency).
	Concurrency int
	// BatchSize caps the deliveries claimed at once, and the attempts
	// recorded in one Store.Complete (default DefaultBatchSize).
	BatchSize int
	// Lease is how long a claimed delivery stays with this worker; a
	// delivery whose worker died is claimed again after it. It must cover an
	// attempt and its recording: at least the sender's timeout plus
	// LeaseMargin (default DefaultLease).
	Lease time.Duration
	// LeaseMargin is the part of a lease beyond the attempt's timeout: the
	// time to read the claimed deliveries' targets (up to two thirds of it)
	// and to record the results (default DefaultLeaseMargin).
	LeaseMargin time.Duration
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
	// ReplayObserver, when set, is told of each replay that the replay
	// loop finishes (Replays): the hook of operational notifications.
	ReplayObserver ReplayObserver
}

// Observer watches the dispatcher's work; metrics.Metrics implements it.
// Its methods are called from the workers and must be quick and safe for
// concurrent use.
type Observer interface {
	// Attempt is called with the outcome of every attempt, before it is
	// recorded.
	Attempt(r hookd.AttemptResult)
	// WebhooksDisabled is called with the webhooks hookd disables, each
	// once, after the store committed it: reason "gone" (a receiver
	// answered 410, told by a store that is a hookd.DisablingCompleter) or
	// "failing" (DisableFailing).
	WebhooksDisabled(reason string, ids []int64)
}

// Reasons passed to Observer.WebhooksDisabled.
const (
	DisabledGone    = "gone"
	DisabledFailing = "failing"
)

// Dispatcher runs the delivery loop: its claimer claims due deliveries for
// idle workers, each worker makes an attempt (the Sender) and has the
// Policy decide what follows, and the completer records the results. Its
// maintainer runs the housekeeping (Maintain).
type Dispatcher struct {
	sender      *Sender
	policy      *Policy
	clock       hookd.Clock
	concurrency int
	grace       time.Duration
	log         *slog.Logger
	observer    Observer

	claimer    *claimer
	completer  *completer
	settled    *settling
	windows    *windows
	maintainer *maintainer
	replayer   *replayer
	fanOuter   *fanOuter
	handoff    *handoff
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
	if cfg.Policy == nil {
		cfg.Policy = DefaultPolicy()
	}
	if cfg.Clock == nil {
		cfg.Clock = hookd.SystemClock
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.Lease <= 0 {
		cfg.Lease = DefaultLease
	}
	if cfg.LeaseMargin <= 0 {
		cfg.LeaseMargin = DefaultLeaseMargin
	}
	if minLease := cfg.Sender.Timeout() + cfg.LeaseMargin; cfg.Lease < minLease {
		return nil, fmt.Errorf("delivery: lease %s is shorter than the attempt timeout plus the lease margin %s (%s)", cfg.Lease, cfg.LeaseMargin, minLease)
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
	log := cfg.Logger.With("worker", cfg.WorkerID)
	settled, windows := newSettling(), newWindows(cfg.Concurrency, cfg.Clock)
	claimer := newClaimer(cfg, log, settled, windows)
	return &Dispatcher{
		sender:      cfg.Sender,
		policy:      cfg.Policy,
		clock:       cfg.Clock,
		concurrency: cfg.Concurrency,
		grace:       cfg.ShutdownGrace,
		log:         log,
		observer:    cfg.Observer,
		claimer:     claimer,
		completer:   newCompleter(cfg, log, claimer.noteDue, settled),
		settled:     settled,
		windows:     windows,
		maintainer:  &maintainer{store: cfg.Store, leader: cfg.Leader, clock: cfg.Clock, log: log, observer: cfg.Observer},
		replayer:    &replayer{store: cfg.Store, leader: cfg.Leader, log: log, observer: cfg.ReplayObserver},
		fanOuter:    &fanOuter{store: cfg.Store, log: log},
		handoff:     newHandoff(claimer, log),
	}, nil
}

// Offer reserves up to n idle workers for a publish of this process
// (hookd.Handoff); none before Run or once it is stopping.
func (d *Dispatcher) Offer(n int) (hookd.ClaimRequest, bool) { return d.handoff.Offer(n) }

// Take starts the attempts of what a publish leased under an Offer's
// request (hookd.Handoff).
func (d *Dispatcher) Take(req hookd.ClaimRequest, claimed hookd.Claimed) {
	d.handoff.Take(req, claimed)
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

// Run claims, sends and records deliveries until ctx ends, and creates the
// deliveries that publishes left to Store.FanOut. While it runs, it offers
// its idle workers to this process's publishes (Offer, Take: the
// deliveries they lease need no claim). It claims, and offers, only as
// many deliveries as it has idle workers, so every leased delivery is
// attempted at once and none waits on a lease. When ctx ends it stops
// claiming and offering (an offer made is taken and its deliveries
// attempted), lets running attempts finish for up to ShutdownGrace (then
// cancels them, and drops their results: see attempt), records every other
// outcome and returns nil. Store errors are logged and retried, never
// returned.
func (d *Dispatcher) Run(ctx context.Context) error {
	// Attempts and recording outlive ctx: they end after the grace period.
	sendCtx, cancelSends := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSends()

	results := make(chan hookd.AttemptResult, d.concurrency)
	recorded := make(chan struct{})
	go func() {
		defer close(recorded)
		d.completer.run(results, ctx.Done())
	}()

	fannedOut := make(chan struct{})
	go func() {
		defer close(fannedOut)
		d.fanOuter.run(ctx)
	}()
	defer func() { <-fannedOut }()

	w := newWorkers(d.concurrency)
	start := func(t *hookd.Target, dl *hookd.Delivery, lease string) {
		ticket := d.windows.started(dl.WebhookID)
		w.start(func() {
			r, ok := d.attempt(sendCtx, t, dl)
			if !ok {
				d.windows.ended(dl.WebhookID, ticket, nil)
				return
			}
			d.windows.ended(dl.WebhookID, ticket, &r)
			r.Worker = lease
			d.settled.add(&r)
			results <- r
		})
	}
	handedOff := make(chan struct{})
	go func() {
		defer close(handedOff)
		d.handoff.run(ctx, w, start)
	}()
	d.claimer.run(ctx, w, start)
	<-handedOff

	// Shutdown: let running attempts finish, then record them.
	if n := w.running(); n > 0 {
		d.log.Info("waiting for running attempts", "attempts", n, "grace", d.grace)
	}
	ended := w.ended()
	grace := time.NewTimer(d.grace)
	defer grace.Stop()
	select {
	case <-ended:
	case <-grace.C:
		d.log.Warn("shutdown grace period over: cancelling running attempts (not recorded; retried after their lease)", "attempts", w.running())
		cancelSends()
		<-ended
	}
	close(results)
	<-recorded
	return nil
}

// workers runs attempts, at most size at once. A slot is reserved before
// its delivery is leased (workers.reserve: by the claimer for a claim, by
// a publish through Handoff), so that every delivery leased is attempted
// at once and none waits on a lease. A worker goroutine stays for the
// next attempt once it is done: a new goroutine an attempt would grow its
// stack again, for each attempt, to the depth of an HTTP request.
type workers struct {
	size    int
	mu      sync.Mutex
	started int         // worker goroutines; guarded by mu
	next    chan func() // to an idle worker; closed by ended
	wg      sync.WaitGroup
	held    atomic.Int64  // slots reserved or running an attempt
	busy    atomic.Int64  // attempts running
	freed   chan struct{} // a value after a slot is freed
}

func newWorkers(size int) *workers {
	return &workers{size: size, next: make(chan func()), freed: make(chan struct{}, 1)}
}

// reserve holds up to n idle slots and returns how many it held.
func (w *workers) reserve(n int) int {
	for {
		held := w.held.Load()
		k := min(int64(n), int64(w.size)-held)
		if k <= 0 {
			return 0
		}
		if w.held.CompareAndSwap(held, held+k) {
			return int(k)
		}
	}
}

// release frees n reserved slots that start no attempt.
func (w *workers) release(n int) {
	if n > 0 {
		w.held.Add(-int64(n))
		w.signalFreed()
	}
}

func (w *workers) signalFreed() {
	select {
	case w.freed <- struct{}{}:
	default:
	}
}

// start runs attempt in a reserved slot: in an idle worker, or in a new
// one while there are fewer than size; else it waits for one.
func (w *workers) start(attempt func()) {
	w.busy.Add(1)
	select {
	case w.next <- attempt:
		return
	default:
	}
	w.mu.Lock()
	if w.started < w.size {
		w.started++
		w.mu.Unlock()
		w.wg.Go(func() { w.work(attempt) })
		return
	}
	w.mu.Unlock()
	w.next <- attempt
}

// work runs attempt, then those it is handed, until ended.
func (w *workers) work(attempt func()) {
	for ok := true; ok; attempt, ok = <-w.next {
		attempt()
		w.busy.Add(-1)
		w.release(1)
	}
}

func (w *workers) running() int { return int(w.busy.Load()) }
func (w *workers) idle() int    { return w.size - int(w.held.Load()) }

// ended returns a channel closed once the attempts started so far have
// ended; no more may start.
func (w *workers) ended() <-chan struct{} {
	close(w.next)
	ch := make(chan struct{})
	go func() {
		w.wg.Wait()
		close(ch)
	}()
	return ch
}
