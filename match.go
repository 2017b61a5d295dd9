package hookd

import (
	"cmp"
	"slices"
	"sync"
)

// Matching is the one rule that decides who receives an event (README:
// The delivery contract): Webhook.Matches, then the webhook's payload
// filter, if it has one (Filter.Accepts). The stores apply it through the
// index of Subscriptions when an event is published (before the transaction
// that queues its deliveries, and again inside it if the index moved:
// Prematched) and when Store.FanOut creates the deliveries a publish left
// to it; a replay applies it to the events it re-sends (Replay.Resend).

// Matches reports whether the webhook receives e: it is enabled, subscribed
// to the event's name, of the event's project (or of none) and of the event's
// user (or of anyone).
func (w *Webhook) Matches(e *Event) bool {
	if w.Disabled {
		return false
	}
	if w.ProjectID != nil && (e.ProjectID == nil || *e.ProjectID != *w.ProjectID) {
		return false
	}
	if len(w.Users) > 0 {
		if e.UserID == nil {
			return false
		}
		found := false
		for _, u := range w.Users {
			if u.UserID == *e.UserID {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	for _, name := range w.TriggerEvents {
		if name == e.Event {
			return true
		}
	}
	return false
}

// Subscriptions indexes enabled webhooks by the events they want and their
// project, so that matching an event reads only the webhooks subscribed to
// its name in its project or in none: it costs the same however many
// other webhooks there are. The stores keep one in memory and build it
// again when a webhook's subscriptions change (SubscriptionCache).
type Subscriptions struct {
	byEvent map[string]*eventSubscribers
	// ordering holds the Ordering of the ordered webhooks (Lane).
	ordering map[int64]Ordering
}

type eventSubscribers struct {
	anyProject []subscriber            // webhooks of no project, by id
	byProject  map[string][]subscriber // webhooks of a project, by id
}

// subscriber is a webhook of the index with its filter compiled (nil for
// none).
type subscriber struct {
	*Webhook
	filter *Filter
}

// NewSubscriptions indexes hooks; disabled ones are left out.
func NewSubscriptions(hooks []*Webhook) *Subscriptions {
	return newSubscriptions(hooks, filterSources{})
}

// newSubscriptions indexes hooks with the filters compiled in filters,
// compiling there those it lacks.
func newSubscriptions(hooks []*Webhook, filters filterSources) *Subscriptions {
	s := &Subscriptions{byEvent: map[string]*eventSubscribers{}, ordering: map[int64]Ordering{}}
	sorted := slices.Clone(hooks)
	slices.SortFunc(sorted, func(a, b *Webhook) int { return cmp.Compare(a.ID, b.ID) })
	for _, w := range sorted {
		if w.Disabled {
			continue
		}
		if w.Ordering != Unordered {
			s.ordering[w.ID] = w.Ordering
		}
		entry := subscriber{Webhook: w, filter: filters.compile(w.Filter)}
		for _, name := range slices.Compact(slices.Sorted(slices.Values(w.TriggerEvents))) {
			subs := s.byEvent[name]
			if subs == nil {
				subs = &eventSubscribers{byProject: map[string][]subscriber{}}
				s.byEvent[name] = subs
			}
			if w.ProjectID == nil {
				subs.anyProject = append(subs.anyProject, entry)
			} else {
				subs.byProject[*w.ProjectID] = append(subs.byProject[*w.ProjectID], entry)
			}
		}
	}
	return s
}

// Match returns the ids of the webhooks that receive e (Webhook.Matches and
// their filters), in ascending order. Filters share one FilterInput, so
// e's data is parsed at most once, and only if a filter reads it.
func (s *Subscriptions) Match(e *Event) []int64 {
	subs := s.byEvent[e.Event]
	if subs == nil {
		return nil
	}
	var inProject []subscriber
	if e.ProjectID != nil {
		inProject = subs.byProject[*e.ProjectID]
	}
	var ids []int64
	var in *FilterInput
	for _, w := range mergeByID(subs.anyProject, inProject) {
		if !w.Matches(e) {
			continue
		}
		if w.filter != nil {
			if in == nil {
				in = NewFilterInput(e)
			}
			if !w.filter.Accepts(in) {
				continue
			}
		}
		ids = append(ids, w.ID)
	}
	return ids
}

// mergeByID merges two lists sorted by id.
func mergeByID(a, b []subscriber) []subscriber {
	if len(b) == 0 {
		return a
	}
	out := make([]subscriber, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if a[0].ID < b[0].ID {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	return append(append(out, a...), b...)
}

// SubscriptionCache keeps a store's Subscriptions for the version of the
// webhooks' subscriptions that it was built at. The stores keep that
// version in the database, raised by every change to a webhook's
// subscriptions, state, project or users (in the same transaction), and
// read it in each publish's transaction: a publish matches with the index
// of the version it reads, in whichever process the change was made.
//
// Its filters are compiled once: building the index again compiles only
// the filters it has not seen (a webhook's filter changing raises the
// version too).
type SubscriptionCache struct {
	mu      sync.Mutex
	version int64
	index   *Subscriptions
	filters filterSources // those of the index, by source
}

// At returns the index at version, building it with load (every webhook,
// with its users and filter) when the one it has is of another version.
func (c *SubscriptionCache) At(version int64, load func() ([]*Webhook, error)) (*Subscriptions, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.index != nil && c.version == version {
		return c.index, nil
	}
	hooks, err := load()
	if err != nil {
		return nil, err
	}
	// Only the filters of this index are kept: one that was replaced goes.
	filters := make(filterSources, len(c.filters))
	for _, w := range hooks {
		if f, ok := c.filters[w.Filter]; ok {
			filters[w.Filter] = f
		}
	}
	c.index, c.version, c.filters = newSubscriptions(hooks, filters), version, filters
	return c.index, nil
}

// Filter returns source compiled (nil for ""), from the index's filters
// when it is one of them.
func (c *SubscriptionCache) Filter(source string) *Filter {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f, ok := c.filters[source]; ok {
		return f
	}
	return filterSources{}.compile(source)
}

// Prematched are the matches of a batch of events, made before the
// transaction that stores them with the index the cache held then:
// matching (payload filters above all) is the costly part of a publish,
// and need not hold the database's write lock.
type Prematched struct {
	index   *Subscriptions
	version int64
	matches [][]int64
}

// Prematch matches events with the index the cache holds now; before its
// first At it holds none, and matches nothing early.
func (c *SubscriptionCache) Prematch(events []*Event) Prematched {
	c.mu.Lock()
	index, version := c.index, c.version
	c.mu.Unlock()
	if index == nil {
		return Prematched{}
	}
	return Prematched{index: index, version: version, matches: index.MatchAll(events)}
}

// Made returns the early matches, the index and the subscriptions' version
// they were made with; ok is false when none were made. A store that
// checks, in the statement that stores the events, that the version is
// still this one may use them without reading the index in its
// transaction.
func (p Prematched) Made() (matches [][]int64, index *Subscriptions, version int64, ok bool) {
	return p.matches, p.index, p.version, p.index != nil
}

// With returns the matches of events with index, the one read in the
// transaction: those made early when it is the same index, or else made
// now.
func (p Prematched) With(index *Subscriptions, events []*Event) [][]int64 {
	if p.index == index {
		return p.matches
	}
	return index.MatchAll(events)
}

// MatchAll returns Match of each of events.
func (s *Subscriptions) MatchAll(events []*Event) [][]int64 {
	matches := make([][]int64, len(events))
	for i, e := range events {
		matches[i] = s.Match(e)
	}
	return matches
}
