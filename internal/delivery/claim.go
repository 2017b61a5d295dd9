package delivery

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/backoff"
)

// claimLinger is how long, with a backlog, the loop waits for more idle
// workers before claiming for the few it has.
const claimLinger = 5 * time.Millisecond

// claimer claims due deliveries for the idle workers, reads their targets,
// and sleeps until new work may be due.
type claimer struct {
	store     hookd.Store
	clock     hookd.Clock
	worker    string
	lease     time.Duration
	batchSize int
	workers   int // the dispatcher's concurrency, which sets webhooks' default share
	poll      time.Duration
	log       *slog.Logger
	// targetsPatience is how long claim tries to read the targets of
	// deliveries it has claimed: two thirds of the lease margin, so that
	// the attempt still fits in the lease after it.
	targetsPatience time.Duration
	targetsRetry    backoff.Backoff

	// nextDue is the earliest retry this dispatcher scheduled and has not
	// claimed yet (UnixNano, 0 for none), so the loop wakes for it.
	nextDue atomic.Int64
	// dueChanged tells the sleeping loop that nextDue moved earlier.
	dueChanged chan struct{}
	// claims numbers the claims, to name each claim's lease.
	claims atomic.Uint64
	// settled counts the attempts ended and not yet recorded: they hold no
	// worker of their webhook's share.
	settled *settling
	// windows caps each webhook's attempts in flight below its share.
	windows *windows
	cache   *targetCache
	// behind is set while the last claim took as many deliveries as it had
	// workers for: more may be due, and publishes hand nothing off
	// (handoff.Offer) so that the workers that free up go to them first.
	behind atomic.Bool
}

func newClaimer(cfg Config, log *slog.Logger, settled *settling, windows *windows) *claimer {
	return &claimer{
		store:           cfg.Store,
		clock:           cfg.Clock,
		worker:          cfg.WorkerID,
		lease:           cfg.Lease,
		batchSize:       cfg.BatchSize,
		workers:         cfg.Concurrency,
		poll:            cfg.PollInterval,
		log:             log,
		targetsPatience: cfg.LeaseMargin * 2 / 3,
		targetsRetry:    backoff.Backoff{First: 50 * time.Millisecond, Max: time.Second, Factor: 3},
		dueChanged:      make(chan struct{}, 1),
		settled:         settled,
		windows:         windows,
		cache:           newTargetCache(),
	}
}

// run claims deliveries until ctx ends and hands each to start with its
// target and the name of its lease. It claims only for idle workers.
func (c *claimer) run(ctx context.Context, w *workers, start func(*hookd.Target, *hookd.Delivery, string)) {
	// With a backlog, workers free up one by one; gathering a few before
	// claiming again saves claim transactions.
	gather := max(1, min(c.batchSize, w.size)/2)
	backlog := false
	// heldShare is the last claim's hookd.Claimed.HeldShare: the attempts
	// that end free a share that has deliveries waiting.
	heldShare := 0
	timer := time.NewTimer(0)
	defer timer.Stop()
	for ctx.Err() == nil {
		// Wait for an idle worker, or for a few while there is a backlog.
		for w.idle() <= 0 && ctx.Err() == nil {
			select {
			case <-w.freed:
			case <-ctx.Done():
			}
		}
		if backlog && w.idle() < gather {
			linger := time.After(claimLinger)
		gathering:
			for w.idle() < gather {
				select {
				case <-w.freed:
				case <-linger:
					break gathering
				case <-ctx.Done():
					break gathering
				}
			}
		}
		if ctx.Err() != nil {
			return
		}
		limit := w.reserve(c.batchSize)
		if limit == 0 {
			continue // a publish's handoff took the idle workers
		}
		ended := c.settled.ended()
		n, held, err := c.claim(ctx, limit, start)
		if err != nil {
			w.release(limit)
		} else {
			w.release(limit - n)
		}
		backlog, heldShare = err == nil && n == limit, held
		c.behind.Store(backlog)
		if err != nil {
			if ctx.Err() == nil {
				c.log.Error("claiming deliveries", "err", err)
			}
		} else if backlog {
			// There may be more due: claim again as soon as workers are idle.
			continue
		}
		// Nothing more is due: sleep until new work may be.
		wait := c.poll
		if err == nil {
			if due := c.nextDue.Load(); due != 0 {
				wait = min(wait, max(time.Unix(0, due).Sub(c.clock.Now()), 0))
			}
		}
		var freed <-chan struct{} // nil, which never delivers, when no share holds deliveries back
		if heldShare > 0 {
			freed = c.settled.arrived
		}
		timer.Reset(wait)
		gather := false
		select {
		case <-ctx.Done():
		case <-c.store.Wakeup():
			// New work, or results recorded (a Complete wakes every claim
			// after it), while a webhook waits at its share or window: gather too,
			// or each Complete and each publish makes a claim of a few.
			gather = heldShare > 0
		case <-c.dueChanged:
		case <-timer.C:
		case <-freed:
			// An attempt ended and its webhook may take another.
			gather = true
		}
		if gather {
			// As with a backlog, gather about half a share before claiming
			// again.
			linger := time.After(claimLinger)
		lingering:
			for c.settled.ended()-ended < int64(max(1, heldShare/2)) {
				select {
				case <-freed:
				case <-linger:
					break lingering
				case <-ctx.Done():
					break lingering
				}
			}
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// request returns the claim request for limit workers, under a lease
// name of its own.
func (c *claimer) request(limit int) hookd.ClaimRequest {
	return hookd.ClaimRequest{Worker: fmt.Sprintf("%s/%d", c.worker, c.claims.Add(1)), Limit: limit, Lease: c.lease,
		Workers: c.workers, Settled: c.settled.snapshot(), Windows: c.windows}
}

// claim claims up to limit due deliveries, reads their targets and starts
// an attempt for each. It returns how many it claimed, and the claim's
// hookd.Claimed.HeldShare; with an error, it started none.
func (c *claimer) claim(ctx context.Context, limit int, start func(*hookd.Target, *hookd.Delivery, string)) (int, int, error) {
	if due := c.nextDue.Load(); due != 0 && due <= c.clock.Now().UnixNano() {
		c.nextDue.CompareAndSwap(due, 0)
	}
	req := c.request(limit)
	claimed, err := c.store.Claim(ctx, req)
	c.windows.heldBack(claimed.HeldBack)
	if err != nil || len(claimed.Deliveries) == 0 {
		return 0, claimed.HeldShare, err
	}
	return len(claimed.Deliveries), claimed.HeldShare, c.startLeased(ctx, req.Worker, claimed, start)
}

// startLeased reads the targets of the deliveries leased under lease
// (from memory while their version stays put: targetCache) and starts an
// attempt for each; with an error, it started none.
func (c *claimer) startLeased(ctx context.Context, lease string, claimed hookd.Claimed, start func(*hookd.Target, *hookd.Delivery, string)) error {
	ds := claimed.Deliveries
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
	targets, missing := c.cache.lookup(claimed.TargetsVersion, c.clock.Now(), ids)
	if len(missing) > 0 {
		read, err := c.targets(ctx, missing)
		if err != nil {
			// They stay leased and are claimed again when the lease expires.
			return fmt.Errorf("reading the targets of %d leased deliveries: %w", len(ds), err)
		}
		c.cache.keep(claimed.TargetsVersion, read)
		for id, t := range read {
			targets[id] = t
		}
	}
	for _, dl := range ds {
		start(targets[dl.WebhookID], dl, lease)
	}
	return nil
}

// targets reads the targets of claimed deliveries. When the store fails
// (a connection that the database closed, a restart) it tries again, with
// backoff, for up to targetsPatience, rather than leave the deliveries
// waiting for their lease; not once Run is stopping.
func (c *claimer) targets(ctx context.Context, ids []int64) (map[int64]*hookd.Target, error) {
	giveUp := c.clock.Now().Add(c.targetsPatience)
	var targets map[int64]*hookd.Target
	_, err := c.targetsRetry.Retry(ctx, func() error {
		tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), min(storeTimeout, c.targetsPatience))
		defer cancel()
		var err error
		targets, err = c.store.Targets(tctx, ids)
		return err
	}, func(_ int, _ error, wait time.Duration) bool {
		return ctx.Err() == nil && !c.clock.Now().Add(wait).After(giveUp)
	})
	return targets, err
}

// noteDue remembers t if it is the earliest retry not yet claimed.
func (c *claimer) noteDue(t time.Time) {
	n := t.UnixNano()
	for {
		cur := c.nextDue.Load()
		if cur != 0 && cur <= n {
			return
		}
		if c.nextDue.CompareAndSwap(cur, n) {
			select {
			case c.dueChanged <- struct{}{}:
			default:
			}
			return
		}
	}
}
