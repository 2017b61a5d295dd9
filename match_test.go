package hookd

import "testing"

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
