package http

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/api"
)

// Event intake: the platform publishes events here with a publisher or
// admin key. Once the answer is 200, the event and its deliveries are stored.

const maxBatchEvents = 1000

func toAPIEvent(p hookd.Published) api.PublishedEvent {
	e := p.Event
	return api.PublishedEvent{ID: e.ID, Event: e.Event, CreatedAt: api.Time{Time: e.CreatedAt}, ProjectID: e.ProjectID,
		UserID: e.UserID, Data: e.Data, Deliveries: p.Deliveries, Duplicate: p.Duplicate}
}

// parseEvent validates one event object (README: Events).
func parseEvent(p *params) *hookd.Event {
	id, _ := p.Text("id", false, 255)
	name, _ := p.EventName("event", true)
	project, _ := p.ProjectID("project_id", false, true)
	user, _ := p.Integer("user_id", false, true)
	data, _ := p.Object("data", false)
	if p.err != nil {
		return nil
	}
	e := &hookd.Event{Event: *name, ProjectID: project, UserID: user, Data: data}
	if id != nil {
		e.ID = *id
	}
	if e.Data == nil {
		e.Data = json.RawMessage("{}")
	}
	return e
}

func (s *Server) publishEvent(w http.ResponseWriter, r *http.Request) error {
	obj, err := readObject(w, r, maxBodyBytes)
	if err != nil {
		return err
	}
	p := params{obj: obj}
	e := parseEvent(&p)
	if p.err != nil {
		return p.err
	}
	published, err := s.publish(r.Context(), []*hookd.Event{e})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.EventResponse{Event: toAPIEvent(published[0])})
	return nil
}

func (s *Server) publishBatch(w http.ResponseWriter, r *http.Request) error {
	obj, err := readObject(w, r, maxBatchBodyBytes)
	if err != nil {
		return err
	}
	raw, ok := obj["events"]
	if !ok {
		return missing("events")
	}
	items, ok := raw.([]any)
	if !ok || len(items) == 0 || len(items) > maxBatchEvents {
		return invalid("events", raw, fmt.Sprintf("Must be an array of 1 to %d events", maxBatchEvents))
	}
	events := make([]*hookd.Event, len(items))
	for i, item := range items {
		name := fmt.Sprintf("events[%d]", i)
		itemObj, ok := item.(map[string]any)
		if !ok {
			return invalid(name, item, ruleHash)
		}
		p := params{obj: itemObj, prefix: name + "."}
		events[i] = parseEvent(&p)
		if p.err != nil {
			return p.err
		}
	}
	published, err := s.publish(r.Context(), events)
	if err != nil {
		return err
	}
	out := api.EventsResponse{Events: make([]api.PublishedEvent, len(published))}
	for i, p := range published {
		out.Events[i] = toAPIEvent(p)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
