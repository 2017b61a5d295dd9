package http

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/api"
)

// TestAppendPublished checks the hand-written encoding of a published
// event against encoding/json's of api.PublishedEvent, the type the
// OpenAPI document and the client hold: the same bytes for compact data,
// so a field added to the type and not to appendPublished fails here. Data
// that is not compact goes out as the publisher wrote it.
func TestAppendPublished(t *testing.T) {
	project, user := "p-<1>&\u2028\"", int64(-9007199254740993)
	at := time.Date(2026, 11, 30, 20, 1, 2, 345678900, time.FixedZone("x", 3600))
	cases := []hookd.Published{
		{Event: hookd.Event{ID: "e1", Event: "ASSET_ADDED", CreatedAt: at, Data: json.RawMessage(`{}`)}, Deliveries: 3},
		{Event: hookd.Event{ID: "id \"quoted\" \\ \x01 é \xff", Event: "PROJECT_REMOVED", CreatedAt: at, ProjectID: &project,
			UserID: &user, Data: json.RawMessage("{\"z\":1.50,\"a\":\"<b>&é\u2028\",\"n\":12345678901234567890,\"arr\":[3,1,2]}")},
			Deliveries: 0, Duplicate: true},
		{Event: hookd.Event{ID: "no-data", Event: "USER_ADDED", CreatedAt: at}},
	}
	for _, p := range cases {
		e := p.Event
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(api.PublishedEvent{ID: e.ID, Event: e.Event, CreatedAt: api.Time{Time: e.CreatedAt},
			ProjectID: e.ProjectID, UserID: e.UserID, Data: e.Data, Deliveries: p.Deliveries, Duplicate: p.Duplicate}); err != nil {
			t.Fatal(err)
		}
		got := append(appendPublished(nil, p), '\n')
		if !bytes.Equal(got, want.Bytes()) {
			t.Errorf("appendPublished(%q):\n got %s\nwant %s", e.ID, got, want.Bytes())
		}
	}

	spaced := hookd.Published{Event: hookd.Event{ID: "s", Event: "ASSET_ADDED", CreatedAt: at,
		Data: json.RawMessage("{ \"b\" : [ 1, 2 ],\n  \"a\": {} }")}}
	got := appendPublished(nil, spaced)
	if !bytes.Contains(got, []byte(`"data":`+string(spaced.Event.Data)+`,`)) {
		t.Errorf("appendPublished does not carry the data as written: %s", got)
	}
	if !json.Valid(got) {
		t.Errorf("appendPublished wrote invalid JSON: %s", got)
	}
}
