package http

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/hookd/hookd"
)

// Event intake: the platform publishes events here with a publisher or
// admin key. Once the answer is 200, the event and its deliveries are stored.

const maxBatchEvents = 1000

// eventKeys are the keys of an event object that the intake reads; others
// are ignored.
var eventKeys = []string{"id", "event", "project_id", "user_id", "data"}

// eventFromFields validates one event object, given by its keys' values
// as they stand in the request (README: Events). Its data goes on as the
// publisher wrote it, byte for byte: only the other keys are decoded.
func eventFromFields(fields map[string]rawValue, prefix string) (*hookd.Event, error) {
	obj := make(map[string]any, len(fields))
	for k, raw := range fields {
		if k == "data" {
			continue
		}
		if !exactText(raw) { // two different ids would be taken for one
			return nil, errNotUTF8(prefix + k)
		}
		// No rule of these keys takes an array or an object: only the start
		// of one, for its error, is decoded.
		obj[k] = errorValue(raw)
	}
	p := params{obj: obj, prefix: prefix}
	id, _ := p.Text("id", false, hookd.MaxEventIDLength)
	if id != nil && !hookd.PathSafeEventID(*id) {
		p.fail(invalid(p.name("id"), *id, hookd.RulePathSafeEventID))
	}
	name, _ := p.EventName("event", true)
	project, _ := p.ProjectID("project_id", false, true)
	user, _ := p.Integer("user_id", false, true)
	if p.err != nil {
		return nil, p.err
	}
	data, err := dataObject(fields, prefix, json.RawMessage("{}"))
	if err != nil {
		return nil, err
	}
	e := &hookd.Event{Event: *name, ProjectID: project, UserID: user, Data: data}
	if id != nil {
		e.ID = *id
	}
	return e, nil
}

// dataObject returns the object under the data key as it was sent, or
// absent when there is none.
func dataObject(fields map[string]rawValue, prefix string, absent json.RawMessage) (json.RawMessage, error) {
	raw, ok := fields["data"]
	switch {
	case !ok:
		return absent, nil
	case !hookd.IsJSONObject(raw):
		return nil, invalid(prefix+"data", errorValue(raw), ruleHash)
	case !utf8.Valid(raw):
		return nil, errorf(http.StatusBadRequest, "Malformed JSON: the value of '%sdata' is not valid UTF-8", prefix)
	case hookd.DataTooDeep(raw):
		// It fits this request, not every answer that carries it.
		return nil, invalid(prefix+"data", errorValue(raw), fmt.Sprintf("Must be a Hash nested at most %d levels deep", hookd.MaxDataDepth))
	}
	return json.RawMessage(raw), nil
}

// errorValue decodes a rejected value for its error message, or keeps only
// the start of a large array or object (shortInspect would cut it anyway).
func errorValue(raw rawValue) any { return decodeUpTo(raw, 4*maxInspect) }

func (s *Server) publishEvent(w http.ResponseWriter, r *http.Request) error {
	fields, err := readFields(w, r, maxBodyBytes, eventKeys...)
	if err != nil {
		return err
	}
	e, err := eventFromFields(fields, "")
	if err != nil {
		return err
	}
	published, err := s.publish(r.Context(), callerKey(r), []*hookd.Event{e})
	if err != nil {
		return idTaken(err, false)
	}
	writePublished(w, published[0])
	return nil
}

// writePublished answers with one published event (api.EventResponse).
func writePublished(w http.ResponseWriter, p hookd.Published) {
	body := make([]byte, 0, 192+len(p.Event.Data))
	body = append(body, `{"event":`...)
	body = appendPublished(body, p)
	writeJSONBody(w, http.StatusOK, append(body, "}\n"...))
}

func (s *Server) publishBatch(w http.ResponseWriter, r *http.Request) error {
	fields, err := readFields(w, r, hookd.MaxBatchBytes, "events")
	if err != nil {
		return err
	}
	raw, ok := fields["events"]
	if !ok {
		return missing("events")
	}
	events, err := batchEvents(raw)
	if err != nil {
		return err
	}
	published, err := s.publish(r.Context(), callerKey(r), events)
	if err != nil {
		return idTaken(err, true)
	}
	writeEvents(w, published)
	return nil
}

// idTaken answers 409 for an event whose id is that of an event another API
// key published (hookd.Republish), naming the id (with the event's place in
// a batch) and nothing of the other event; other errors pass.
func idTaken(err error, batch bool) error {
	var taken *hookd.EventIDTakenError
	if !errors.As(err, &taken) {
		return err
	}
	name := "id"
	if batch {
		name = fmt.Sprintf("events[%d].id", taken.Index)
	}
	return errorf(http.StatusConflict,
		"Conflict: '%s' value %s is the id of an event that another API key published; event ids are unique, use another",
		name, shortInspect(taken.ID))
}

// writeEvents answers an api.EventsResponse of published, one event at a
// time: a large batch's answer is not built whole in memory.
func writeEvents(w http.ResponseWriter, published []hookd.Published) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriter(w)
	bw.WriteString(`{"events":[`)
	var buf []byte
	for i, p := range published {
		if i > 0 {
			bw.WriteByte(',')
		}
		buf = appendPublished(buf[:0], p)
		bw.Write(buf)
	}
	bw.WriteString("]}\n")
	bw.Flush()
}

// appendPublished appends p as api.PublishedEvent, as encoding/json would
// write it without HTML escaping, but with no reflection and with the
// event's data as stored, the publisher's bytes (checked at intake), where
// encoding/json would compact it: every publish answers with it.
func appendPublished(dst []byte, p hookd.Published) []byte {
	e := p.Event
	dst = append(dst, `{"id":`...)
	dst = hookd.AppendJSONString(dst, e.ID)
	dst = append(dst, `,"event":`...)
	dst = hookd.AppendJSONString(dst, e.Event)
	dst = append(dst, `,"created_at":"`...)
	dst = e.CreatedAt.UTC().AppendFormat(dst, hookd.TimeLayout)
	dst = append(dst, `","project_id":`...)
	if e.ProjectID == nil {
		dst = append(dst, "null"...)
	} else {
		dst = hookd.AppendJSONString(dst, *e.ProjectID)
	}
	dst = append(dst, `,"user_id":`...)
	if e.UserID == nil {
		dst = append(dst, "null"...)
	} else {
		dst = strconv.AppendInt(dst, *e.UserID, 10)
	}
	dst = append(dst, `,"data":`...)
	if len(e.Data) == 0 {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, e.Data...)
	}
	dst = append(dst, `,"deliveries":`...)
	dst = strconv.AppendInt(dst, int64(p.Deliveries), 10)
	dst = append(dst, `,"duplicate":`...)
	dst = strconv.AppendBool(dst, p.Duplicate)
	return append(dst, '}')
}

// batchEvents validates a batch's events one by one. Each event is a slice
// of raw, which its data then refers to, not a copy: a batch costs little
// more than its body in memory, and a huge array is not read past its
// limit.
func batchEvents(raw rawValue) ([]*hookd.Event, error) {
	rule := fmt.Sprintf("Must be an array of 1 to %d events", maxBatchEvents)
	if raw[0] != '[' {
		return nil, invalid("events", errorValue(raw), rule)
	}
	var events []*hookd.Event
	for i, n := skipSpace(raw, 1), 0; raw[i] != ']'; n++ { // raw is valid (readFields checked the body)
		if n == maxBatchEvents {
			return nil, invalid("events", errorValue(raw), rule)
		}
		end := valueEnd(raw, i)
		item := raw[i:end]
		name := fmt.Sprintf("events[%d]", n)
		if item[0] != '{' {
			return nil, invalid(name, errorValue(item), ruleHash)
		}
		e, err := eventFromFields(objectFields(item, eventKeys), name+".")
		if err != nil {
			return nil, err
		}
		events = append(events, e)
		i = nextElement(raw, end)
	}
	if len(events) == 0 {
		return nil, invalid("events", []any{}, rule)
	}
	return events, nil
}
