package http

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/hookd/hookd"
)

// OutboxEvent checks a row of the transactional outbox with the rules of
// POST /api/v2/events, as if its columns were the keys of the request's
// body (a NULL column is an absent key), and returns the event to publish;
// an error is what the API would answer. The outbox's relay publishes
// with it (hookd.Outbox.RelayOutbox).
func OutboxEvent(row hookd.OutboxRow) (*hookd.Event, error) {
	if row.DataBytes > hookd.MaxOutboxData {
		return nil, fmt.Errorf("data is %d bytes, over the %d an event's data may have", row.DataBytes, hookd.MaxOutboxData)
	}
	fields := map[string]rawValue{"event": mustJSON(row.Event)}
	if row.ID != nil {
		fields["id"] = mustJSON(*row.ID)
	}
	if row.ProjectID != nil {
		fields["project_id"] = mustJSON(*row.ProjectID)
	}
	if row.UserID != nil {
		fields["user_id"] = mustJSON(*row.UserID)
	}
	if row.Data != nil {
		// Surrounding spaces are not part of the value. PostgreSQL's json
		// type takes what the intake does not (deeper nesting than
		// encoding/json's), so the data is checked as a request's body is.
		data := bytes.Trim(row.Data, " \t\r\n")
		if err := unmarshalBody(data, new(skipValue)); err != nil {
			return nil, err
		}
		fields["data"] = rawValue(data)
	}
	return eventFromFields(fields, "")
}

// mustJSON encodes a string or an integer, which cannot fail.
func mustJSON(v any) rawValue {
	b, _ := json.Marshal(v)
	return b
}
