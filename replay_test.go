package hookd

import (
	"testing"
	"time"
)

func TestNewReplay(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 6_000_000, time.UTC)
	at := func(d time.Duration) *time.Time { x := now.Add(d); return &x }
	for _, c := range []struct {
		name      string
		since     time.Time
		until     *time.Time
		retention time.Duration
		field     string // refused for this field; "" accepted
		wantUntil time.Time
	}{
		{"until defaults to now", now.Add(-time.Hour), nil, 0, "", now},
		{"an until in the future is now", now.Add(-time.Hour), at(time.Hour), 0, "", now},
		{"an until in the past", now.Add(-time.Hour), at(-time.Minute), 0, "", now.Add(-time.Minute)},
		{"within retention", now.Add(-time.Hour), nil, 2 * time.Hour, "", now},
		{"at the edge of retention", now.Add(-2 * time.Hour), nil, 2 * time.Hour, "", now},
		{"beyond retention", now.Add(-2*time.Hour - time.Millisecond), nil, 2 * time.Hour, "since", time.Time{}},
		{"since after until", now.Add(-time.Hour), at(-2 * time.Hour), 0, "until", time.Time{}},
		{"since equal to until", now.Add(-time.Hour), at(-time.Hour), 0, "until", time.Time{}},
		{"since in the future", now.Add(time.Hour), nil, 0, "since", time.Time{}},
	} {
		r, err := NewReplay(7, c.since, c.until, true, now, c.retention)
		re, refused := err.(*ReplayRangeError)
		switch {
		case c.field != "" && (!refused || re.Field != c.field):
			t.Errorf("%s: %v, want a refusal of %s", c.name, err, c.field)
		case c.field == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.field == "" && (!r.Until.Equal(Stamp(c.wantUntil, now)) || r.State != ReplayRunning || r.WebhookID != 7 || !r.AfterAt.Equal(r.Since)):
			t.Errorf("%s: %+v, want until %v", c.name, r, c.wantUntil)
		}
	}
}

func TestReplayResend(t *testing.T) {
	project := "P"
	w := &Webhook{ID: 1, TriggerEvents: []string{"ASSET_ADDED"}, ProjectID: &project}
	filter, err := CompileFilter(`data.n > 1`)
	if err != nil {
		t.Fatal(err)
	}
	event := func(name string, data string) *Event {
		return &Event{Event: name, ProjectID: &project, Data: []byte(data)}
	}
	for _, c := range []struct {
		name             string
		c                ReplayCandidate
		includeSucceeded bool
		want             string // the webhook-id; "" not re-sent, "new" a new one
	}{
		{"failed", ReplayCandidate{Event: event("ASSET_ADDED", `{"n":2}`), MessageID: "msg_1"}, false, "msg_1"},
		{"never sent", ReplayCandidate{Event: event("ASSET_ADDED", `{"n":2}`)}, false, "new"},
		{"succeeded", ReplayCandidate{Event: event("ASSET_ADDED", `{"n":2}`), MessageID: "msg_1", Succeeded: true}, false, ""},
		{"succeeded, asked for", ReplayCandidate{Event: event("ASSET_ADDED", `{"n":2}`), MessageID: "msg_1", Succeeded: true}, true, "msg_1"},
		{"pending", ReplayCandidate{Event: event("ASSET_ADDED", `{"n":2}`), MessageID: "msg_1", Pending: true}, true, ""},
		{"not subscribed", ReplayCandidate{Event: event("ASSET_REMOVED", `{"n":2}`)}, true, ""},
		{"filtered out", ReplayCandidate{Event: event("ASSET_ADDED", `{"n":1}`), MessageID: "msg_1"}, true, ""},
	} {
		r := &Replay{IncludeSucceeded: c.includeSucceeded}
		id, ok := r.Resend(w, filter, c.c)
		switch {
		case c.want == "" && ok, c.want != "" && !ok:
			t.Errorf("%s: re-sent %v, want %q", c.name, ok, c.want)
		case c.want == "new" && (id == "" || id == c.c.MessageID):
			t.Errorf("%s: webhook-id %q, want a new one", c.name, id)
		case c.want != "new" && c.want != "" && id != c.want:
			t.Errorf("%s: webhook-id %q, want %q", c.name, id, c.want)
		}
	}
	// A disabled webhook receives nothing (its replay waits).
	disabled := *w
	disabled.Disabled = true
	if _, ok := (&Replay{}).Resend(&disabled, nil, ReplayCandidate{Event: event("ASSET_ADDED", `{}`)}); ok {
		t.Error("a disabled webhook was re-sent an event")
	}
	if !ReplayWaits(&disabled, 0) || ReplayWaits(w, ReplayQueueLimit-1) || !ReplayWaits(w, ReplayQueueLimit) {
		t.Error("ReplayWaits")
	}
}
