// Package intake gathers the events of concurrent publish requests into
// shared store transactions (group commit).
//
// A platform publishes one event per request, from many connections at
// once. Each Store.PublishEvents is one transaction, so one event a
// request means one commit an event. GroupCommit runs one PublishEvents at
// a time: the requests that arrive while it runs wait for it and go
// together in the next one. A request alone is stored at once, without
// waiting for company (but after a commit that had company: see below);
// under load a commit carries the events of every request that came
// during the one before, and when that one had company it waits, up to
// MaxLinger, for as many requests as it had (as
// PostgreSQL's commit_delay waits when commit_siblings are active): a
// commit's cost is mostly fixed, so fewer, larger ones leave more of the
// machine to the rest of the work (on 2 cores, 32 publishers of single
// events: a sixth fewer commits, a tenth less CPU an event, a tenth
// more events a second).
package intake

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/hookd/hookd"
)

// MaxLinger bounds how long a commit waits for company (the package's
// doc): 2 ms, a small part of a request's time under the load that makes
// it wait. A request that comes alone just after a group may wait that
// long too. (Measured, 32 publishers of single events on 2 cores, SQLite:
// against 1 ms, a third fewer commits and 6 to 10 % less CPU a delivery,
// with the same p99 at 1,000 events a second; 3 and 4 ms raised that p99.
// PostgreSQL's figures did not move.)
const MaxLinger = 2 * time.Millisecond

// MaxGroupEvents bounds the events of one group: a request is never split,
// but a group takes no more requests once it holds this many events, so a
// commit stays short.
const MaxGroupEvents = 1000

// GroupCommit publishes through a store, sharing transactions between
// concurrent callers.
type GroupCommit struct {
	store     hookd.Store
	published func([]hookd.Published) // nil: none
	handoff   hookd.Handoff           // nil: none

	mu      sync.Mutex
	waiting []*request
	leading bool // a goroutine is committing groups
	// arrived has a value after a request joins waiting, for a leader
	// that lingers.
	arrived chan struct{}
	linger  time.Duration // MaxLinger; tests set their own
}

// request is one caller's events and, once done is closed, their fate.
type request struct {
	ctx       context.Context
	events    []*hookd.Event
	published []hookd.Published
	err       error
	done      chan struct{}
}

// New returns a GroupCommit on store. published, when not nil, is called
// with each caller's events once they are committed, whether or not the
// caller still waits (the API's metrics count them: an event stored for a
// client that gave up is stored all the same, and its resend is a
// duplicate), and never for events whose commit failed. It is called from
// the goroutine that commits, before the caller's Publish returns: it must
// be quick.
func New(store hookd.Store, published func([]hookd.Published)) *GroupCommit {
	return &GroupCommit{store: store, published: published, arrived: make(chan struct{}, 1), linger: MaxLinger}
}

// HandOffTo makes each commit lease the deliveries h's idle workers can
// take at once (hookd.Handoff, Store.PublishAndClaim) and hand them to h.
// Call it before the first Publish.
func (g *GroupCommit) HandOffTo(h hookd.Handoff) { g.handoff = h }

// Publish stores events as Store.PublishEvents does, in a transaction it
// may share with other callers', and returns once they are committed (or
// not). One caller's events are never split between transactions; another
// caller's event that fails its group's transaction does not fail this
// one (the group is then stored caller by caller). When ctx ends first,
// Publish returns ctx's error, and its events may still be stored (and are
// then told to New's published): a publisher that gives its events ids can
// send them again safely.
func (g *GroupCommit) Publish(ctx context.Context, events []*hookd.Event) ([]hookd.Published, error) {
	r := &request{ctx: ctx, events: events, done: make(chan struct{})}
	g.mu.Lock()
	g.waiting = append(g.waiting, r)
	if !g.leading {
		g.leading = true
		go g.lead()
	}
	g.mu.Unlock()
	select {
	case g.arrived <- struct{}{}:
	default:
	}
	select {
	case <-r.done:
		return r.published, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// lead commits the waiting requests, a group at a time, until none waits.
// After a group of several requests it lingers (gather) before the next.
func (g *GroupCommit) lead() {
	linger := time.NewTimer(g.linger)
	defer linger.Stop()
	for last := 0; ; {
		if last > 1 {
			g.gather(last, linger)
		}
		g.mu.Lock()
		group := g.nextGroup()
		if len(group) == 0 {
			g.leading = false
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		g.commit(group)
		last = len(group)
	}
}

// gather waits until n requests wait, or their events fill a group, for
// up to MaxLinger (on linger). It waits even when none waits yet: the
// callers of the group just committed are about to send their next
// requests, and the first of them to come would otherwise be committed
// alone (measured: with 32 publishers, two commits in five were of one
// request, a quarter of the intake's store time).
func (g *GroupCommit) gather(n int, linger *time.Timer) {
	linger.Reset(g.linger)
	for {
		g.mu.Lock()
		waiting, events := len(g.waiting), 0
		for _, r := range g.waiting {
			events += len(r.events)
		}
		g.mu.Unlock()
		if waiting >= n || events >= MaxGroupEvents {
			return
		}
		select {
		case <-g.arrived:
		case <-linger.C:
			return
		}
	}
}

// nextGroup takes the waiting requests of the next group: the first, and
// those after it while the group holds fewer than MaxGroupEvents events.
// Requests whose caller has gone are dropped. g.mu is held.
func (g *GroupCommit) nextGroup() []*request {
	var group []*request
	n, i := 0, 0
	for ; i < len(g.waiting); i++ {
		r := g.waiting[i]
		if r.ctx.Err() != nil {
			r.err = r.ctx.Err()
			close(r.done)
			continue
		}
		if len(group) > 0 && n+len(r.events) > MaxGroupEvents {
			break
		}
		group = append(group, r)
		n += len(r.events)
	}
	g.waiting = append(g.waiting[:0], g.waiting[i:]...)
	return group
}

// commit stores a group in one transaction; if that fails, and the
// failure is not the database's (which would fail each caller alike), it
// stores the group caller by caller, so that only the callers whose
// events fail get an error.
func (g *GroupCommit) commit(group []*request) {
	if len(group) == 1 {
		g.commitOne(group[0])
		return
	}
	var all []*hookd.Event
	for _, r := range group {
		all = append(all, r.events...)
	}
	published, err := g.publish(context.WithoutCancel(group[0].ctx), all)
	if err != nil && !errors.Is(err, hookd.ErrUnavailable) {
		for _, r := range group {
			g.commitOne(r)
		}
		return
	}
	for _, r := range group {
		if err != nil {
			r.err = err
		} else {
			r.published, published = published[:len(r.events):len(r.events)], published[len(r.events):]
		}
		g.done(r)
	}
}

// commitOne stores one caller's events in a transaction of their own.
func (g *GroupCommit) commitOne(r *request) {
	r.published, r.err = g.publish(context.WithoutCancel(r.ctx), r.events)
	g.done(r)
}

// publish is one transaction of the store's, leasing to the handoff if
// there is one.
func (g *GroupCommit) publish(ctx context.Context, events []*hookd.Event) ([]hookd.Published, error) {
	if g.handoff == nil {
		return g.store.PublishEvents(ctx, events)
	}
	return g.store.PublishAndClaim(ctx, events, g.handoff)
}

// done tells what r's commit stored, if it did, and hands r's fate to its
// caller (if still there).
func (g *GroupCommit) done(r *request) {
	if r.err == nil && g.published != nil {
		g.published(r.published)
	}
	close(r.done)
}
