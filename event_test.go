package hookd

import (
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
