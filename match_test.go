package hookd

import (
	"fmt"
	"slices"
	"testing"
)

// BenchmarkMatches matches an event against the worst webhook the API
// allows in practice: subscribed to all 123 events (the event last in the
// list), scoped to a project and limited to 50 users.
func BenchmarkMatches(b *testing.B) {
	project := "GsrwPNm6nJ7CKRYnQZl6"
	w := &Webhook{TriggerEvents: EventNames, ProjectID: &project}
	for i := range 50 {
		w.Users = append(w.Users, WebhookUser{UserID: int64(i + 1)})
	}
	user := int64(50)
	e := &Event{Event: EventNames[len(EventNames)-1], ProjectID: &project, UserID: &user}
	if !w.Matches(e) {
		b.Fatal("no match")
	}
	for b.Loop() {
		w.Matches(e)
	}
}

func TestSubscriptionsMatch(t *testing.T) {
	p, other, user := "P", "Q", int64(7)
	hooks := []*Webhook{
		{ID: 7, TriggerEvents: []string{"B"}},
		{ID: 1, TriggerEvents: []string{"A", "A"}},
		{ID: 2, TriggerEvents: []string{"A"}, Disabled: true},
		{ID: 3, TriggerEvents: []string{"A"}, ProjectID: &p},
		{ID: 4, TriggerEvents: []string{"A"}, ProjectID: &other},
		{ID: 5, TriggerEvents: []string{"B", "A"}, Users: []WebhookUser{{UserID: 7}}},
		{ID: 6, TriggerEvents: []string{"A"}, Users: []WebhookUser{{UserID: 8}}},
		{ID: 8, TriggerEvents: []string{"A"}, ProjectID: &p, Users: []WebhookUser{{UserID: 7}}},
	}
	subs := NewSubscriptions(hooks)
	for _, e := range []*Event{
		{Event: "A", ProjectID: &p, UserID: &user},
		{Event: "A"},
		{Event: "A", ProjectID: &other},
		{Event: "B", UserID: &user},
		{Event: "C"},
	} {
		// The index gives what Matches gives over every webhook, by id.
		var want []int64
		for _, w := range slices.SortedFunc(slices.Values(hooks), func(a, b *Webhook) int { return int(a.ID - b.ID) }) {
			if w.Matches(e) {
				want = append(want, w.ID)
			}
		}
		if got := subs.Match(e); !slices.Equal(got, want) {
			t.Errorf("Match(%+v) = %v, want %v", e, got, want)
		}
	}
	if got := subs.Match(&Event{Event: "A", ProjectID: &p, UserID: &user}); !slices.Equal(got, []int64{1, 3, 5, 8}) {
		t.Errorf("Match = %v, want [1 3 5 8]", got)
	}
}

func TestSubscriptionCache(t *testing.T) {
	var c SubscriptionCache
	loads := 0
	load := func(hooks ...*Webhook) func() ([]*Webhook, error) {
		return func() ([]*Webhook, error) { loads++; return hooks, nil }
	}
	a := &Webhook{ID: 1, TriggerEvents: []string{"A"}}
	s1, _ := c.At(3, load(a))
	s2, _ := c.At(3, load())
	if s1 != s2 || loads != 1 {
		t.Errorf("the same version built the index again (%d loads)", loads)
	}
	s3, _ := c.At(4, load())
	if loads != 2 || len(s3.Match(&Event{Event: "A"})) != 0 {
		t.Errorf("a new version did not build the index again (%d loads)", loads)
	}
}

// BenchmarkPublishMatch matches an event among 10,000 webhooks, one of
// which wants it: the index makes this cost what it costs with one.
func BenchmarkPublishMatch(b *testing.B) {
	var hooks []*Webhook
	for i := range 10_000 {
		project := fmt.Sprint("P", i)
		hooks = append(hooks, &Webhook{ID: int64(i + 1), TriggerEvents: EventNames, ProjectID: &project})
	}
	subs := NewSubscriptions(hooks)
	project := "P5000"
	e := &Event{Event: "ASSET_ADDED", ProjectID: &project}
	for b.Loop() {
		if len(subs.Match(e)) != 1 {
			b.Fatal("want one match")
		}
	}
}

// Matches made before a transaction serve it when it reads the same
// index, and are made again when the index moved meanwhile.
func TestPrematch(t *testing.T) {
	var c SubscriptionCache
	events := []*Event{{Event: "A"}, {Event: "B"}}
	if early := c.Prematch(events); early.index != nil {
		t.Fatal("an empty cache matched early")
	}
	hooks := []*Webhook{{ID: 1, TriggerEvents: []string{"A"}}}
	v1, _ := c.At(1, func() ([]*Webhook, error) { return hooks, nil })
	early := c.Prematch(events)
	if got := early.With(v1, events); !slices.Equal(got[0], []int64{1}) || len(got[1]) != 0 || &got[0] != &early.matches[0] {
		t.Errorf("With the same index: %v, want the early matches", got)
	}
	hooks = append(hooks, &Webhook{ID: 2, TriggerEvents: []string{"B"}})
	v2, _ := c.At(2, func() ([]*Webhook, error) { return hooks, nil })
	if got := early.With(v2, events); !slices.Equal(got[1], []int64{2}) {
		t.Errorf("With a newer index: %v, want matched again", got)
	}
}
