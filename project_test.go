package hookd

import (
	"encoding/json"
	"testing"
	"time"
)

func TestRegistryUpdate(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)
	p := "proj_1"
	for _, c := range []struct {
		event   Event
		title   *string // the added project's title; nil when none is added
		removes bool
	}{
		{Event{Event: EventProjectAdded, ProjectID: &p, Data: json.RawMessage(`{"title": "Hello"}`)}, ptrTo("Hello"), false},
		{Event{Event: EventProjectAdded, ProjectID: &p, Data: json.RawMessage(`{"title": 12}`)}, ptrTo(""), false},
		{Event{Event: EventProjectAdded, ProjectID: &p, Data: json.RawMessage(`[1]`)}, ptrTo(""), false},
		{Event{Event: EventProjectAdded, Data: json.RawMessage(`{"title": "no project"}`)}, nil, false},
		{Event{Event: EventProjectPurged, ProjectID: &p}, nil, true},
		{Event{Event: EventProjectPurged}, nil, false},
		{Event{Event: "ASSET_ADDED", ProjectID: &p}, nil, false},
	} {
		add, remove := c.event.RegistryUpdate(now)
		switch {
		case (add == nil) != (c.title == nil):
			t.Errorf("%s %s: adds %+v", c.event.Event, c.event.Data, add)
		case add != nil && (add.ID != p || add.Title != *c.title || !add.CreatedAt.Equal(now) || !add.UpdatedAt.Equal(now)):
			t.Errorf("%s %s: adds %+v, want %q titled %q at now", c.event.Event, c.event.Data, add, p, *c.title)
		}
		if (remove != nil) != c.removes || remove != nil && *remove != p {
			t.Errorf("%s: removes %v, want %v", c.event.Event, remove, c.removes)
		}
	}
}

func ptrTo[T any](v T) *T { return &v }
