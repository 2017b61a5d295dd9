package http

import (
	"net/http"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/api"
)

func toAPILogEntry(e *hookd.LogEntry) api.LogEntry {
	out := api.LogEntry{
		ID: e.ID, DeliveryID: e.DeliveryID, EventID: e.EventID, Event: e.Event, MessageID: e.MessageID,
		Attempt: e.Attempt, DurationMS: e.Duration.Milliseconds(), RequestHeaders: e.RequestHeaders,
		ResponseBody: e.ResponseBody, CreatedAt: api.Time{Time: e.CreatedAt}, NextAttemptAt: api.TimeOf(e.NextAttemptAt),
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
	pageNo, perPage = 1, hookd.DefaultPerPage
	if pg != nil {
		if *pg < 1 {
			return 0, 0, invalid("page", q.Get("page"), "Must be a positive Integer")
		}
		pageNo = int(min(*pg, 1<<30))
	}
	if pp != nil {
		if *pp < 1 || *pp > hookd.MaxPerPage {
			return 0, 0, invalid("per_page", q.Get("per_page"), "Must be an Integer from 1 to 100")
		}
		perPage = int(*pp)
	}
	return pageNo, perPage, nil
}

func (s *Server) successLog(w http.ResponseWriter, r *http.Request) error {
	entries, err := s.readLog(r, true)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.SuccessLogResponse{SuccessLog: entries})
	return nil
}

func (s *Server) failedLog(w http.ResponseWriter, r *http.Request) error {
	entries, err := s.readLog(r, false)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.FailedLogResponse{FailedLog: entries})
	return nil
}

// readLog reads the page of the webhook's success or failed log that r asks for.
func (s *Server) readLog(r *http.Request, success bool) ([]api.LogEntry, error) {
	// A bad page is answered before an unknown webhook.
	if _, _, err := page(r); err != nil {
		return nil, err
	}
	wh, err := s.loadWebhook(r)
	if err != nil {
		return nil, err
	}
	return s.logPage(r, wh.ID, success)
}

// logPage reads the page of webhook webhookID's log that r asks for.
func (s *Server) logPage(r *http.Request, webhookID int64, success bool) ([]api.LogEntry, error) {
	pageNo, perPage, err := page(r)
	if err != nil {
		return nil, err
	}
	entries, err := s.store.Log(r.Context(), webhookID, success, pageNo, perPage)
	if err != nil {
		return nil, err
	}
	out := make([]api.LogEntry, 0, len(entries))
	for _, e := range entries {
		out = append(out, toAPILogEntry(e))
	}
	return out, nil
}
