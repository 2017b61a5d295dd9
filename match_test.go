package hookd

import (
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

func TestMatching(t *testing.T) {
	p, other, user := "P", "Q", int64(7)
	hooks := []*Webhook{
		{ID: 1, TriggerEvents: []string{"A"}},
		{ID: 2, TriggerEvents: []string{"A"}, Disabled: true},
		{ID: 3, TriggerEvents: []string{"A"}, ProjectID: &p},
		{ID: 4, TriggerEvents: []string{"A"}, ProjectID: &other},
		{ID: 5, TriggerEvents: []string{"B", "A"}, Users: []WebhookUser{{UserID: 7}}},
		{ID: 6, TriggerEvents: []string{"A"}, Users: []WebhookUser{{UserID: 8}}},
		{ID: 7, TriggerEvents: []string{"B"}},
	}
	got := Matching(hooks, &Event{Event: "A", ProjectID: &p, UserID: &user})
	if want := []int64{1, 3, 5}; !slices.Equal(got, want) {
		t.Errorf("Matching = %v, want %v", got, want)
	}
	if got := NamesOf([]*Event{{Event: "B"}, {Event: "A"}, {Event: "B"}}); !slices.Equal(got, []string{"B", "A"}) {
		t.Errorf("NamesOf = %v", got)
	}
}
