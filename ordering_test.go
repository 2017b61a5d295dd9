package hookd

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestOrderingValidate(t *testing.T) {
	longest := Ordering("data." + strings.Repeat("a", 63) + "." + strings.Repeat("b", 64) + "." + strings.Repeat("c", 64) + ".x")
	if len(longest) != MaxOrderingLength {
		t.Fatalf("the longest is %d long", len(longest))
	}
	for _, o := range []Ordering{Unordered, OrderWebhook, OrderProject, OrderUser, OrderEvent, "data.order_id",
		"data.order.id", "data.a-b.C_9", "data.a.b.c.d.e.f.g.h", longest} {
		if err := o.Validate(); err != nil {
			t.Errorf("%q: %v", o, err)
		}
	}
	for _, o := range []Ordering{"Webhook", "project", "data", "data.", "data..x", "data.x.", "data.a b", "data.é",
		"data.a.b.c.d.e.f.g.h.i", longest + "y", "data." + Ordering(strings.Repeat("x", 65)), "user_id ", "data.x\x00"} {
		if err := o.Validate(); !errors.Is(err, ErrInvalidSettings) {
			t.Errorf("%q: %v, want ErrInvalidSettings", o, err)
		}
	}
}

func TestOrderingLane(t *testing.T) {
	p, q, u1, u2 := "P", "Q", int64(1), int64(2)
	event := func(name string, project *string, user *int64, data string) *Event {
		return &Event{Event: name, ProjectID: project, UserID: user, Data: json.RawMessage(data)}
	}
	lane := func(o Ordering, e *Event) int64 {
		t.Helper()
		l, ok := o.Lane(e)
		if !ok {
			t.Fatalf("%q: not ordered", o)
		}
		return l
	}
	if _, ok := Unordered.Lane(event("A", &p, nil, `{}`)); ok {
		t.Error("Unordered has a lane")
	}
	for _, c := range []struct {
		o    Ordering
		a, b *Event
		same bool
	}{
		{OrderWebhook, event("A", &p, &u1, `{"x": 1}`), event("B", &q, &u2, `{"x": 2}`), true},
		{OrderProject, event("A", &p, nil, `{}`), event("B", &p, &u1, `{}`), true},
		{OrderProject, event("A", &p, nil, `{}`), event("A", &q, nil, `{}`), false},
		{OrderProject, event("A", nil, nil, `{}`), event("B", nil, &u1, `{}`), true},
		{OrderUser, event("A", nil, &u1, `{}`), event("A", nil, &u2, `{}`), false},
		{OrderUser, event("A", &p, &u1, `{}`), event("B", &q, &u1, `{}`), true},
		{OrderEvent, event("A", &p, nil, `{}`), event("A", &q, nil, `{}`), true},
		{OrderEvent, event("A", nil, nil, `{}`), event("B", nil, nil, `{}`), false},
		{"data.order.id", event("A", nil, nil, `{"order": {"id": 7}}`), event("B", nil, nil, `{"order": {"id": "7"}}`), true},
		{"data.order.id", event("A", nil, nil, `{"order": {"id": 7}}`), event("A", nil, nil, `{"order": {"id": 8}}`), false},
		{"data.order.id", event("A", nil, nil, `{"order": {"id": {"a": 1, "b": [1, 2]}}}`), event("A", nil, nil, `{"order": {"id": { "a" : 1 , "b" : [1,2] }}}`), true},
		{"data.order.id", event("A", nil, nil, `{}`), event("A", nil, nil, `{"order": null}`), true},
		{"data.order.id", event("A", nil, nil, `{"order": "x"}`), event("A", nil, nil, `{"order": {"id": null}}`), true},
		{"data.order.id", event("A", nil, nil, `{"order": {"id": ""}}`), event("A", nil, nil, `{}`), true},
	} {
		if got := lane(c.o, c.a) == lane(c.o, c.b); got != c.same {
			t.Errorf("%q: %s and %s share a lane: %v, want %v", c.o, c.a.Data, c.b.Data, got, c.same)
		}
	}
	// The key's value is hashed with the ordering.
	if lane(OrderProject, event("A", &p, nil, `{}`)) == lane("data.p", event("A", nil, nil, `{"p": "P"}`)) {
		t.Error("a project and a data field of the same value share a lane")
	}
}

func TestAttemptResultUnblocks(t *testing.T) {
	next := time.Now()
	for _, c := range []struct {
		r    AttemptResult
		want bool
	}{
		{AttemptResult{Ordered: true, Success: true}, true},
		{AttemptResult{Ordered: true}, true}, // failed for good
		{AttemptResult{Ordered: true, NextAttemptAt: &next}, false},
		{AttemptResult{Success: true}, false},
	} {
		if got := c.r.Unblocks(); got != c.want {
			t.Errorf("%+v: Unblocks %v, want %v", c.r, got, c.want)
		}
	}
}
