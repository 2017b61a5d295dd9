package delivery

import (
	"context"
	"log/slog"
	"sync"

	"github.com/hookd/hookd"
)

// handoff is the dispatcher's side of hookd.Handoff: it reserves idle
// workers for this process's publishes, and starts the attempts of the
// deliveries they lease.
type handoff struct {
	claimer *claimer
	log     *slog.Logger

	mu sync.Mutex
	// w is the running dispatcher's workers, and start starts an attempt
	// on them; both nil before Run and once it stops taking handoffs, when
	// offers are refused.
	w     *workers
	start func(*hookd.Target, *hookd.Delivery, string)
	ctx   context.Context // Run's
	// offered counts the offers not yet taken; Run waits for them before
	// it stops, so that no leased delivery is left for its lease to end.
	offered  int
	allTaken *sync.Cond // signalled when offered falls to 0
	// starting counts the taken leases whose attempts are being started.
	starting sync.WaitGroup
}

func newHandoff(c *claimer, log *slog.Logger) *handoff {
	h := &handoff{claimer: c, log: log}
	h.allTaken = sync.NewCond(&h.mu)
	return h
}

// Offer reserves up to n idle workers (hookd.Handoff).
func (h *handoff) Offer(n int) (hookd.ClaimRequest, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.w == nil || h.ctx.Err() != nil || h.claimer.behind.Load() { // not running, stopping, or due deliveries wait
		return hookd.ClaimRequest{}, false
	}
	if n = h.w.reserve(n); n == 0 {
		return hookd.ClaimRequest{}, false
	}
	h.offered++
	return h.claimer.request(n), true
}

// Take frees the workers of req that the publish leased nothing for, and
// starts the attempts of what it leased (hookd.Handoff). It reads their
// targets in a goroutine of its own: the publish that calls it is the
// intake's next commit's.
func (h *handoff) Take(req hookd.ClaimRequest, claimed hookd.Claimed) {
	h.mu.Lock()
	defer h.mu.Unlock()
	w, ctx, start := h.w, h.ctx, h.start
	leased := claimed.Deliveries
	w.release(req.Limit - len(leased))
	if len(leased) > 0 {
		h.starting.Go(func() {
			// Even once Run is stopping: these are leased already, and
			// would otherwise wait for their lease to end.
			if err := h.claimer.startLeased(context.WithoutCancel(ctx), req.Worker, claimed, start); err != nil {
				h.log.Error("starting handed-off deliveries", "err", err)
				w.release(len(leased))
			}
		})
	}
	if h.offered--; h.offered == 0 {
		h.allTaken.Broadcast()
	}
}

// run makes offers on w until ctx ends; then it refuses offers, and
// returns once those made are taken and their attempts started.
func (h *handoff) run(ctx context.Context, w *workers, start func(*hookd.Target, *hookd.Delivery, string)) {
	h.mu.Lock()
	h.w, h.ctx, h.start = w, ctx, start
	h.mu.Unlock()
	<-ctx.Done()
	h.mu.Lock()
	for h.offered > 0 {
		h.allTaken.Wait()
	}
	h.w, h.ctx, h.start = nil, nil, nil
	h.mu.Unlock()
	h.starting.Wait()
}
