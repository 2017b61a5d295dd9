// Package intake gathers the events of concurrent publish requests into
// shared store transactions (group commit).
//
// A platform publishes one event per request, from many connections at
// once. Each Store.PublishEvents is one transaction, so one event a
// request means one commit an event. GroupCommit runs one PublishEvents at
// a time: the requests that arrive while it runs wait for it and go
// together in the next one. A request alone is stored at once, without
// waiting for company; under load a commit carries the events of every
// request that came during the one before.
package intake

import (
	"context"
	"errors"
	"sync"

	"github.com/hookd/hookd"
)

// MaxGroupEvents bounds the events of one group: a request is never split,
// but a group takes no more requests once it holds this many events, so a
// commit stays short.
const MaxGroupEvents = 1000

// GroupCommit publishes through a store, sharing transactions between
// concurrent callers.
type GroupCommit struct {
	store     hookd.Store
	published func([]hookd.Published) // nil: none

	mu      sync.Mutex
	waiting []*request
	leading bool // a goroutine is committing groups
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
	return &GroupCommit{store: store, published: published}
}

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
	case <-r.done:
		return r.published, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// lead commits the waiting requests, a group at a time, until none waits.
func (g *GroupCommit) lead() {
	for {
		g.mu.Lock()
		group := g.nextGroup()
		if len(group) == 0 {
			g.leading = false
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		g.commit(group)
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
	published, err := g.store.PublishEvents(context.WithoutCancel(group[0].ctx), all)
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
	r.published, r.err = g.store.PublishEvents(context.WithoutCancel(r.ctx), r.events)
	g.done(r)
}

// done tells what r's commit stored, if it did, and hands r's fate to its
// caller (if still there).
func (g *GroupCommit) done(r *request) {
	if r.err == nil && g.published != nil {
		g.published(r.published)
	}
	close(r.done)
}
