package delivery

import (
	"context"
	"errors"
	"sort"
	"sync"
	"time"

	"github.com/hookd/hookd"
)

// fakeStore is an in-memory queue implementing the parts of hookd.Store that
// the dispatcher uses, for unit tests of its loop. The embedded nil Store
// makes any other method panic.
type fakeStore struct {
	hookd.Store
	clock hookd.Clock // the time of Claim

	mu         sync.Mutex
	deliveries map[int64]*fakeDelivery
	targets    map[int64]*hookd.Target
	log        []hookd.AttemptResult
	completes  int // Complete calls that succeeded
	claims     int
	claimLimit []int
	wake       chan struct{}

	failClaims    int // the next n Claim calls fail
	failCompletes int // the next n Complete calls fail
	failTargets   int // the next n Targets calls fail

	pruned   []time.Time
	cleared  []time.Time
	disabled []time.Time
}

type fakeDelivery struct {
	d       hookd.Delivery
	queued  int // Claim calls made before it was queued
	due     time.Time
	leased  time.Time // lease end; zero when not leased
	worker  string
	done    bool
	success bool
}

func newFakeStore() *fakeStore {
	return &fakeStore{
		clock:      hookd.SystemClock,
		deliveries: map[int64]*fakeDelivery{},
		targets:    map[int64]*hookd.Target{},
		wake:       make(chan struct{}, 1),
	}
}

func (s *fakeStore) setTarget(t *hookd.Target) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.targets[t.WebhookID] = t
}

// add queues a delivery, due now, and signals the wakeup channel.
func (s *fakeStore) add(d hookd.Delivery) {
	s.mu.Lock()
	s.deliveries[d.ID] = &fakeDelivery{d: d, queued: s.claims, due: s.clock.Now()} // milliseconds, as stores keep times
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *fakeStore) Claim(ctx context.Context, req hookd.ClaimRequest) (hookd.Claimed, error) {
	worker, limit, lease := req.Worker, req.Limit, req.Lease
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.claims++
	s.claimLimit = append(s.claimLimit, limit)
	if s.failClaims > 0 {
		s.failClaims--
		return hookd.Claimed{}, hookd.ErrUnavailable
	}
	var due []*fakeDelivery
	for _, fd := range s.deliveries {
		if t := s.targets[fd.d.WebhookID]; t != nil && t.Disabled {
			continue // a disabled webhook's deliveries wait (Store.Claim)
		}
		if !fd.done && !fd.due.After(now) && !fd.leased.After(now) {
			due = append(due, fd)
		}
	}
	sort.Slice(due, func(i, j int) bool { return due[i].d.ID < due[j].d.ID })
	if len(due) > limit {
		due = due[:limit]
	}
	out := make([]*hookd.Delivery, len(due))
	for i, fd := range due {
		fd.leased = now.Add(lease)
		fd.worker = worker
		d := fd.d
		out[i] = &d
	}
	return hookd.Claimed{Deliveries: out}, nil
}

func (s *fakeStore) Targets(ctx context.Context, ids []int64) (map[int64]*hookd.Target, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failTargets > 0 {
		s.failTargets--
		return nil, hookd.ErrUnavailable
	}
	out := map[int64]*hookd.Target{}
	for _, id := range ids {
		if t, ok := s.targets[id]; ok {
			c := *t
			out[id] = &c
		}
	}
	return out, nil
}

func (s *fakeStore) Complete(ctx context.Context, results []hookd.AttemptResult) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failCompletes > 0 {
		s.failCompletes--
		return errors.New("database is locked")
	}
	s.completes++
	for _, r := range results {
		fd, ok := s.deliveries[r.DeliveryID]
		if !ok || fd.done {
			continue
		}
		s.log = append(s.log, r)
		fd.d.Attempts = r.Attempt
		fd.leased = time.Time{}
		if r.NextAttemptAt != nil {
			fd.due = *r.NextAttemptAt
		} else {
			fd.done = true
			fd.success = r.Success
		}
		if r.DisableWebhook {
			if t, ok := s.targets[r.WebhookID]; ok {
				t.Disabled = true
			}
		}
	}
	return nil
}

func (s *fakeStore) Wakeup() <-chan struct{} { return s.wake }

// FanOut has nothing to create: the fake's deliveries are given whole.
func (s *fakeStore) FanOut(ctx context.Context) (bool, error) { return false, nil }
func (s *fakeStore) FanOutWakeup() <-chan struct{}            { return nil }

func (s *fakeStore) Prune(ctx context.Context, before time.Time) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruned = append(s.pruned, before)
	return 3, nil
}

func (s *fakeStore) ClearPayloads(ctx context.Context, before time.Time) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cleared = append(s.cleared, before)
	return 2, nil
}

func (s *fakeStore) DisableFailing(ctx context.Context, before time.Time) ([]int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.disabled = append(s.disabled, before)
	return []int64{9}, nil
}

// logOf returns the attempts recorded for a delivery, in order.
func (s *fakeStore) logOf(id int64) []hookd.AttemptResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []hookd.AttemptResult
	for _, r := range s.log {
		if r.DeliveryID == id {
			out = append(out, r)
		}
	}
	return out
}

// seenByClaim reports whether a Claim call has run since delivery id was
// queued (whether or not it claimed it).
func (s *fakeStore) seenByClaim(id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.claims > s.deliveries[id].queued
}

func (s *fakeStore) state(id int64) fakeDelivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return *s.deliveries[id]
}
