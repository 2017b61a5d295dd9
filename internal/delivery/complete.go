package delivery

import (
	"context"
	"log/slog"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/backoff"
)

// completer records the workers' results in batches, trying again while
// the store fails.
type completer struct {
	store         hookd.Store
	clock         hookd.Clock
	lease         time.Duration
	batchSize     int
	flushInterval time.Duration
	retry         backoff.Backoff
	log           *slog.Logger
	// scheduled is told of the time of each retry recorded.
	scheduled func(time.Time)
	// settled counts the results not yet handed to the store.
	settled *settling
	// observer, when set, is told of the webhooks that the results
	// recorded disabled (DisabledGone).
	observer Observer
}

func newCompleter(cfg Config, log *slog.Logger, scheduled func(time.Time), settled *settling) *completer {
	return &completer{
		store:         cfg.Store,
		clock:         cfg.Clock,
		lease:         cfg.Lease,
		batchSize:     cfg.BatchSize,
		flushInterval: cfg.FlushInterval,
		retry:         backoff.Backoff{First: 100 * time.Millisecond, Max: time.Second, Factor: 3},
		log:           log,
		scheduled:     scheduled,
		settled:       settled,
		observer:      cfg.Observer,
	}
}

// run writes results to the store in batches: a batch goes when it holds
// BatchSize results or FlushInterval after its first one arrived, or at
// once, with the results already waiting, when one of them lets the next
// delivery of an ordered lane go (AttemptResult.Unblocks). It returns
// when results is closed, after writing what it holds. stopping is closed
// when the dispatcher begins to shut down (see complete).
func (c *completer) run(results <-chan hookd.AttemptResult, stopping <-chan struct{}) {
	batch := make([]hookd.AttemptResult, 0, c.batchSize)
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
				c.complete(batch, stopping)
				batch = batch[:0]
				continue
			}
		}
		if !ok {
			if len(batch) > 0 {
				c.complete(batch, stopping)
			}
			return
		}
		batch = append(batch, r)
		if len(batch) == 1 {
			flush.Reset(c.flushInterval)
		}
		unblocks := r.Unblocks()
		if unblocks {
			batch, ok = gather(results, batch, c.batchSize)
		}
		if len(batch) >= c.batchSize || unblocks {
			if !flush.Stop() {
				select {
				case <-flush.C:
				default:
				}
			}
			c.complete(batch, stopping)
			batch = batch[:0]
		}
		if !ok {
			return
		}
	}
}

// gather adds to batch, up to size, the results that are waiting in
// results, without waiting for more; ok is false when results is closed.
func gather(results <-chan hookd.AttemptResult, batch []hookd.AttemptResult, size int) (_ []hookd.AttemptResult, ok bool) {
	for len(batch) < size {
		select {
		case r, ok := <-results:
			if !ok {
				return batch, false
			}
			batch = append(batch, r)
		default:
			return batch, true
		}
	}
	return batch, true
}

// complete records a batch. When the store fails (the database is down or
// restarting) it tries again, with backoff, until the batch's leases end:
// a batch recorded after an outage spares the receivers a second delivery.
// Meanwhile the workers wait to hand over their results, so no more
// deliveries are claimed. After the leases the deliveries are claimed again
// and the results would be dropped as stale (Store.Complete), so the batch
// is dropped: its deliveries are attempted again (at-least-once). Once the
// dispatcher is stopping, it gives up after a few tries rather than hold up
// the shutdown. The webhooks that the batch disabled (a 410) are told to
// the observer once it is recorded, as the store reports them
// (hookd.DisablingCompleter): each once, though several attempts answered
// 410, and never for a result the store dropped.
func (c *completer) complete(batch []hookd.AttemptResult, stopping <-chan struct{}) {
	const minTries = 4
	leaseEnd := c.clock.Now().Add(c.lease)
	for _, r := range batch {
		if !r.At.IsZero() && r.At.Add(c.lease).Before(leaseEnd) {
			leaseEnd = r.At.Add(c.lease) // r.At is when the attempt began, after its claim
		}
	}
	atShutdown := false
	var disabled []int64
	tries, err := c.retry.Retry(context.Background(), func() error {
		ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
		defer cancel()
		var err error
		disabled, err = hookd.CompleteDisabling(ctx, c.store, batch)
		return err
	}, func(tries int, err error, wait time.Duration) bool {
		if tries <= minTries || tries%10 == 0 {
			c.log.Warn("recording attempts", "attempts", len(batch), "try", tries, "err", err)
		}
		if tries < minTries {
			return true
		}
		if c.clock.Now().Add(wait).After(leaseEnd) {
			return false
		}
		select {
		case <-stopping:
			atShutdown = true
			return false
		default:
			return true
		}
	})
	c.settled.handedOver(batch)
	switch {
	case err == nil:
		c.settled.recorded(batch)
		if tries > 1 {
			c.log.Info("recorded attempts after a store failure", "attempts", len(batch), "tries", tries)
		}
		for _, r := range batch {
			if r.DeliveryState() == hookd.StatePending {
				c.scheduled(*r.NextAttemptAt)
			}
		}
		if len(disabled) > 0 && c.observer != nil {
			c.observer.WebhooksDisabled(DisabledGone, disabled)
		}
	case atShutdown:
		c.log.Error("dropping attempt results at shutdown: their deliveries will be retried after the lease",
			"attempts", len(batch), "err", err)
	default:
		c.log.Error("dropping attempt results: their leases are over, their deliveries will be retried",
			"attempts", len(batch), "err", err)
	}
}
