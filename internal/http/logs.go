package http

import (
	"net/http"

	"github.com/hookd/hookd"
)

// logEntryJSON is one attempt in a success or failed log.
type logEntryJSON struct {
	ID             int64             `json:"id"`
	DeliveryID     int64             `json:"delivery_id"`
	EventID        string            `json:"event_id"`
	Event          string            `json:"event"`
	MessageID      string            `json:"message_id"`
	Attempt        int               `json:"attempt"`
	HTTPStatus     *int              `json:"http_status"`
	DurationMS     int64             `json:"duration_ms"`
	ErrorClass     *string           `json:"error_class"`
	Error          *string           `json:"error"`
	RequestHeaders map[string]string `json:"request_headers"`
	ResponseBody   string            `json:"response_body"`
	CreatedAt      jsonTime          `json:"created_at"`
	NextAttemptAt  *jsonTime         `json:"next_attempt_at"`
}

func toLogEntryJSON(e *hookd.LogEntry) logEntryJSON {
	out := logEntryJSON{
		ID: e.ID, DeliveryID: e.DeliveryID, EventID: e.EventID, Event: e.Event, MessageID: e.MessageID,
		Attempt: e.Attempt, DurationMS: e.Duration.Milliseconds(), RequestHeaders: e.RequestHeaders,
		ResponseBody: e.ResponseBody, CreatedAt: jsonTime(e.CreatedAt), NextAttemptAt: optionalTime(e.NextAttemptAt),
	}
	if e.HTTPStatus != 0 {
		status := e.HTTPStatus
		out.HTTPStatus = &status
	}
	if e.ErrorClass != "" {
		class, msg := e.ErrorClass, e.Error
		out.ErrorClass, out.Error = &class, &msg
	}
	if out.RequestHeaders == nil {
		out.RequestHeaders = map[string]string{}
	}
	return out
}

const (
	defaultPerPage = 25
	maxPerPage     = 100
)

// page reads the page and per_page query parameters.
func page(r *http.Request) (pageNo, perPage int, err error) {
	q := r.URL.Query()
	obj := map[string]any{}
	for _, key := range []string{"page", "per_page"} {
		if q.Has(key) {
			obj[key] = q.Get(key)
		}
	}
	p := params{obj: obj}
	pg, _ := p.Integer("page", false, false)
	pp, _ := p.Integer("per_page", false, false)
	if p.err != nil {
		return 0, 0, p.err
	}
	pageNo, perPage = 1, defaultPerPage
	if pg != nil {
		if *pg < 1 {
			return 0, 0, invalid("page", q.Get("page"), "Must be a positive Integer")
		}
		pageNo = int(min(*pg, 1<<30))
	}
	if pp != nil {
		if *pp < 1 || *pp > maxPerPage {
			return 0, 0, invalid("per_page", q.Get("per_page"), "Must be an Integer from 1 to 100")
		}
		perPage = int(*pp)
	}
	return pageNo, perPage, nil
}

func (s *Server) successLog(w http.ResponseWriter, r *http.Request) error {
	return s.writeLog(w, r, true, "success_log")
}

func (s *Server) failedLog(w http.ResponseWriter, r *http.Request) error {
	return s.writeLog(w, r, false, "failed_log")
}

func (s *Server) writeLog(w http.ResponseWriter, r *http.Request, success bool, field string) error {
	pageNo, perPage, err := page(r)
	if err != nil {
		return err
	}
	wh, err := s.loadWebhook(r)
	if err != nil {
		return err
	}
	entries, err := s.store.Log(r.Context(), wh.ID, success, pageNo, perPage)
	if err != nil {
		return err
	}
	out := make([]logEntryJSON, 0, len(entries))
	for _, e := range entries {
		out = append(out, toLogEntryJSON(e))
	}
	writeJSON(w, http.StatusOK, map[string]any{field: out})
	return nil
}
