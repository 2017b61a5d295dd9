package hookd

import (
	"cmp"
	"slices"
	"sync"
)

// Matching is the one rule that decides who receives an event (README:
// The delivery contract): Webhook.Matches. The stores apply it when an event
// is published, inside the transaction that queues its deliveries, through
// the index of Subscriptions.

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
	anyProject []*Webhook            // webhooks of no project, by id
	byProject  map[string][]*Webhook // webhooks of a project, by id
}

// NewSubscriptions indexes hooks; disabled ones are left out.
func NewSubscriptions(hooks []*Webhook) *Subscriptions {
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
		for _, name := range slices.Compact(slices.Sorted(slices.Values(w.TriggerEvents))) {
			subs := s.byEvent[name]
			if subs == nil {
				subs = &eventSubscribers{byProject: map[string][]*Webhook{}}
				s.byEvent[name] = subs
			}
			if w.ProjectID == nil {
				subs.anyProject = append(subs.anyProject, w)
			} else {
				subs.byProject[*w.ProjectID] = append(subs.byProject[*w.ProjectID], w)
			}
		}
	}
	return s
}

// Match returns the ids of the webhooks that receive e (Webhook.Matches),
// in ascending order.
func (s *Subscriptions) Match(e *Event) []int64 {
	subs := s.byEvent[e.Event]
	if subs == nil {
		return nil
	}
	var inProject []*Webhook
	if e.ProjectID != nil {
		inProject = subs.byProject[*e.ProjectID]
	}
	var ids []int64
	for _, w := range mergeByID(subs.anyProject, inProject) {
		if w.Matches(e) {
			ids = append(ids, w.ID)
		}
	}
	return ids
}

// mergeByID merges two lists sorted by id.
func mergeByID(a, b []*Webhook) []*Webhook {
	if len(b) == 0 {
		return a
	}
	out := make([]*Webhook, 0, len(a)+len(b))
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
type SubscriptionCache struct {
	mu      sync.Mutex
	version int64
	index   *Subscriptions
}

// At returns the index at version, building it with load (every webhook,
// with its users) when the one it has is of another version.
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
	c.index, c.version = NewSubscriptions(hooks), version
	return c.index, nil
}
