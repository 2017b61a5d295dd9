package delivery

import (
	"sync"
	"sync/atomic"

	"github.com/hookd/hookd"
)

// settling counts, by webhook, the successful attempts that have ended and
// whose results are not recorded yet (hookd.ClaimRequest.Settled). A
// failed attempt is not counted: it holds its webhook's slot until it is
// recorded, so that the circuit breaker, which the store updates as it
// records, sees the failures before more attempts go out.
//
// A result leaves the count once the Complete that records it has
// returned, so that a webhook's slots are free again while its results are
// recorded: counted until the Complete began, a busy webhook's share
// (which one Complete's batch can fill) stood full for the length of each
// Complete, and its claims waited for it. Between the commit and the end
// of the count a claim may count a success twice (here, and as a lease
// gone from the store) and take up to a batch's successes beyond the
// share: only of a webhook whose receiver answers, never of one that
// hangs, against which the share is kept.
type settling struct {
	mu sync.Mutex
	n  map[int64]int
	// freed counts the attempts that have freed their slot of a share: a
	// success when it ends, a failure once it is recorded.
	freed atomic.Int64
	// arrived has a value after an attempt frees its slot: the claimer may
	// serve its webhook again.
	arrived chan struct{}
}

func newSettling() *settling {
	return &settling{n: map[int64]int{}, arrived: make(chan struct{}, 1)}
}

// frees reports whether r frees its webhook's slot before it is recorded.
func frees(r *hookd.AttemptResult) bool { return r.Success }

// add counts r, an ended attempt, if it frees its slot.
func (s *settling) add(r *hookd.AttemptResult) {
	if !frees(r) {
		return
	}
	s.mu.Lock()
	s.n[r.WebhookID]++
	s.mu.Unlock()
	s.free(1)
}

// handedOver uncounts a batch that Store.Complete has recorded, or given
// up on (its deliveries are then claimed again when their leases end).
func (s *settling) handedOver(batch []hookd.AttemptResult) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range batch {
		r := &batch[i]
		if !frees(r) {
			continue
		}
		if s.n[r.WebhookID]--; s.n[r.WebhookID] <= 0 {
			delete(s.n, r.WebhookID)
		}
	}
}

// recorded tells that batch is recorded: its failures free their slots.
func (s *settling) recorded(batch []hookd.AttemptResult) {
	n := 0
	for i := range batch {
		if !frees(&batch[i]) {
			n++
		}
	}
	if n > 0 {
		s.free(n)
	}
}

func (s *settling) free(n int) {
	s.freed.Add(int64(n))
	select {
	case s.arrived <- struct{}{}:
	default:
	}
}

// ended returns how many attempts have freed their slot so far.
func (s *settling) ended() int64 { return s.freed.Load() }

// snapshot returns the counts now (nil when there are none).
func (s *settling) snapshot() map[int64]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.n) == 0 {
		return nil
	}
	out := make(map[int64]int, len(s.n))
	for id, n := range s.n {
		out[id] = n
	}
	return out
}
