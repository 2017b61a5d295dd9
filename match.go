package hookd

// Matching is the one rule that decides who receives an event (README:
// The delivery contract).
// The stores apply it when an event is published, inside the transaction
// that queues its deliveries.

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

// Matching returns the ids of the webhooks among hooks that receive e, in
// the order of hooks. Stores read the candidates (the enabled webhooks
// subscribed to e's name, with their users) and queue a delivery for each
// id it returns.
func Matching(hooks []*Webhook, e *Event) []int64 {
	var ids []int64
	for _, w := range hooks {
		if w.Matches(e) {
			ids = append(ids, w.ID)
		}
	}
	return ids
}

// NamesOf returns the distinct event names of events, in order of first
// appearance: what a store selects the candidate webhooks of a batch by.
func NamesOf(events []*Event) []string {
	seen := make(map[string]bool, len(events))
	var names []string
	for _, e := range events {
		if !seen[e.Event] {
			seen[e.Event] = true
			names = append(names, e.Event)
		}
	}
	return names
}
