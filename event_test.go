package hookd

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestEventNormalize(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)
	e := &Event{Event: "ASSET_ADDED"}
	if err := e.Normalize(now); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(e.ID, "evt_") || !e.CreatedAt.Equal(now) || string(e.Data) != "{}" {
		t.Errorf("defaults not filled: %+v", e)
	}

	at := time.Date(2023, 11, 27, 10, 42, 39, 937_654_321, time.FixedZone("EET", 2*3600))
	e = &Event{ID: "client-1", Event: "ASSET_ADDED", CreatedAt: at, Data: []byte("{\"t\":\"a\xffb\"}")}
	if err := e.Normalize(now); err != nil {
		t.Fatal(err)
	}
	if e.ID != "client-1" || e.CreatedAt.Format(TimeLayout) != "2023-11-27T08:42:39.937Z" || string(e.Data) != "{\"t\":\"a\uFFFDb\"}" {
		t.Errorf("normalized to %+v (%s)", e, e.Data)
	}

	if err := (&Event{Event: "ASSET_ADDED", Data: []byte(`{"a":`)}).Normalize(now); err == nil {
		t.Error("invalid JSON data accepted")
	}
	if err := (&Event{ID: "k-\xff", Event: "ASSET_ADDED"}).Normalize(now); err == nil || !strings.Contains(err.Error(), "id is not valid UTF-8") {
		t.Errorf("an id of invalid UTF-8: %v, want it refused", err)
	}
	for _, id := range []string{".", ".."} {
		if err := (&Event{ID: id, Event: "ASSET_ADDED"}).Normalize(now); err == nil || !strings.Contains(err.Error(), RulePathSafeEventID) {
			t.Errorf("the id %q: %v, want it refused", id, err)
		}
	}
	if err := (&Event{ID: "...", Event: "ASSET_ADDED"}).Normalize(now); err != nil {
		t.Errorf("the id \"...\": %v", err)
	}
}

func TestNormalizeAll(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)
	events := []*Event{{Event: "ASSET_ADDED"}, {Event: "ASSET_ADDED"}}
	if err := NormalizeAll(events, now); err != nil {
		t.Fatal(err)
	}
	if events[0].ID == events[1].ID || !events[0].CreatedAt.Equal(now) || !events[1].CreatedAt.Equal(now) {
		t.Errorf("normalized to %+v, %+v", events[0], events[1])
	}
	bad := []*Event{{Event: "ASSET_ADDED"}, {ID: "bad", Event: "ASSET_ADDED", Data: []byte(`[`)}}
	if err := NormalizeAll(bad, now); err == nil || !strings.Contains(err.Error(), `"bad"`) {
		t.Errorf("NormalizeAll of an invalid event: %v, want an error naming it", err)
	}
}

// An event id repeats only for the key that published it; to another key it
// is a conflict that shows nothing of the stored event.
func TestRepublish(t *testing.T) {
	stored := Event{ID: "evt_1", Event: "ASSET_ADDED", Data: []byte(`{"secret":1}`), PublisherKeyID: 7}
	p, err := Republish(&Event{ID: "evt_1", Event: "ASSET_REMOVED", PublisherKeyID: 7}, 3, stored, 2)
	if err != nil || !p.Duplicate || p.Deliveries != 2 || p.Event.Event != "ASSET_ADDED" {
		t.Fatalf("same key: %+v, %v; want the stored event as a duplicate", p, err)
	}
	for _, key := range []int64{8, 0} {
		p, err = Republish(&Event{ID: "evt_1", PublisherKeyID: key}, 3, stored, 2)
		var taken *EventIDTakenError
		if !errors.As(err, &taken) || *taken != (EventIDTakenError{Index: 3, ID: "evt_1"}) || !errors.Is(err, ErrConflict) {
			t.Fatalf("key %d: %v, want an EventIDTakenError for events[3] that is an ErrConflict", key, err)
		}
		if p.Event.Data != nil || strings.Contains(err.Error(), "secret") {
			t.Fatalf("key %d: the refusal shows the stored event: %+v, %v", key, p, err)
		}
	}
}

// A store takes no event the intake would refuse: an id too long or with a
// control character, a project id not of MediaPocket's form.
func TestEventNormalizeRefuses(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)
	for name, e := range map[string]*Event{
		"id too long":           {ID: strings.Repeat("x", MaxEventIDLength+1), Event: "ASSET_ADDED"},
		"id with a NUL":         {ID: "a\x00b", Event: "ASSET_ADDED"},
		"id with a LF":          {ID: "a\nb", Event: "ASSET_ADDED"},
		"project with a /":      {Event: "ASSET_ADDED", ProjectID: ptrTo("a/b")},
		"project too long":      {Event: "ASSET_ADDED", ProjectID: ptrTo(strings.Repeat("p", 65))},
		"id of 1 MB, not UTF-8": {ID: "\xff" + strings.Repeat("x", 1<<20), Event: "ASSET_ADDED"},
		// The intake's rules of data (CheckEventData), for an event
		// published through a store directly.
		"data an array": {Event: "ASSET_ADDED", Data: json.RawMessage(`[1,2]`)},
		"data null":     {Event: "ASSET_ADDED", Data: json.RawMessage(`null`)},
		"data a number": {Event: "ASSET_ADDED", Data: json.RawMessage(` 42`)},
		"data too deep": {Event: "ASSET_ADDED", Data: json.RawMessage(strings.Repeat("[", MaxDataDepth) + "{}" + strings.Repeat("]", MaxDataDepth))},
		"data not JSON": {Event: "ASSET_ADDED", Data: json.RawMessage(`{"a":}`)},
	} {
		err := e.Normalize(now)
		if err == nil {
			t.Errorf("%s: Normalize took it", name)
		} else if len(err.Error()) > 300 {
			t.Errorf("%s: an error of %d bytes echoes too much", name, len(err.Error()))
		}
	}
	deepest := strings.Repeat(`{"a":`, MaxDataDepth-1) + "{}" + strings.Repeat("}", MaxDataDepth-1)
	ok := &Event{ID: strings.Repeat("é", MaxEventIDLength), Event: "ASSET_ADDED", ProjectID: ptrTo("Proj_1-a"),
		Data: json.RawMessage(" " + deepest + "\n")}
	if err := ok.Normalize(now); err != nil {
		t.Errorf("Normalize refused an id of %d characters and a valid project: %v", MaxEventIDLength, err)
	}
}
