package http

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/api"
)

// toAPIWebhook shows a webhook; its secret header values stay hidden.
func toAPIWebhook(w *hookd.Webhook) api.Webhook {
	out := api.Webhook{
		ID: w.ID, Name: w.Name, HTTPURL: w.HTTPURL, HTTPMethod: w.HTTPMethod,
		TriggerEvents: w.TriggerEvents, CreatedAt: api.Time{Time: w.CreatedAt}, UpdatedAt: api.Time{Time: w.UpdatedAt},
		Disabled: w.Disabled, ProjectID: w.ProjectID,
		QueueLength: w.QueueLength, RetryQueueLength: w.RetryQueueLength,
		WebhookUsers: make([]api.WebhookUser, 0, len(w.Users)), WebhookHeaders: make([]api.Header, 0, len(w.Headers)),
	}
	if out.TriggerEvents == nil {
		out.TriggerEvents = []string{}
	}
	if run := w.LatestRun; run != nil {
		out.LatestRun = &api.Run{CreatedAt: api.Time{Time: run.At}, Status: api.RunFailed, DurationMS: run.Duration.Milliseconds(), Event: run.Event}
		if run.Success {
			out.LatestRun.Status = api.RunSuccess
		}
		if run.HTTPStatus != 0 {
			status := run.HTTPStatus
			out.LatestRun.HTTPStatus = &status
		}
	}
	for _, u := range w.Users {
		out.WebhookUsers = append(out.WebhookUsers, toAPIUser(&u))
	}
	for _, h := range w.Headers {
		out.WebhookHeaders = append(out.WebhookHeaders, toAPIHeader(&h, false))
	}
	return out
}

// toAPIHeader shows a secret value only in the answer to its creation.
func toAPIHeader(h *hookd.Header, justCreated bool) api.Header {
	out := api.Header{ID: h.ID, WebhookID: h.WebhookID, HeaderKey: h.Key, Hidden: h.Hidden, IsHMAC: h.IsHMAC,
		CreatedAt: api.Time{Time: h.CreatedAt}, UpdatedAt: api.Time{Time: h.UpdatedAt}}
	if justCreated || !h.Secret() {
		value := h.Value
		out.HeaderValue = &value
	}
	return out
}

func toAPIUser(u *hookd.WebhookUser) api.WebhookUser {
	return api.WebhookUser{ID: u.ID, WebhookID: u.WebhookID, UserID: u.UserID,
		CreatedAt: api.Time{Time: u.CreatedAt}, UpdatedAt: api.Time{Time: u.UpdatedAt}}
}

// notFound is ActiveRecord's message for a record looked up by the id as the
// client wrote it.
func notFound(model, rawID string) error {
	return errorf(http.StatusNotFound, "Couldn't find %s with 'id'=%s", model, rawID)
}

// pathID parses an integer id from the path; anything else is a record that
// does not exist.
func pathID(r *http.Request, name, model string) (int64, error) {
	raw := r.PathValue(name)
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return 0, notFound(model, raw)
	}
	return id, nil
}

// loadWebhook reads the webhook named by the path.
func (s *Server) loadWebhook(r *http.Request) (*hookd.Webhook, error) {
	id, err := pathID(r, "webhook_id", "Webhook")
	if err != nil {
		return nil, err
	}
	w, err := s.store.Webhook(r.Context(), id)
	if errors.Is(err, hookd.ErrNotFound) {
		return nil, notFound("Webhook", r.PathValue("webhook_id"))
	}
	return w, err
}

func writeWebhook(w http.ResponseWriter, wh *hookd.Webhook) {
	writeJSON(w, http.StatusOK, api.WebhookResponse{Webhook: toAPIWebhook(wh)})
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request) error {
	var f hookd.WebhookFilter
	q := r.URL.Query()
	if q.Has("project_id") {
		p := q.Get("project_id")
		if !hookd.ValidProjectID(p) {
			return invalid("project_id", p, ruleProjectID)
		}
		f.ProjectID = &p
	}
	if q.Has("disabled") {
		p := params{obj: map[string]any{"disabled": q.Get("disabled")}}
		f.Disabled, _ = p.Boolean("disabled")
		if p.err != nil {
			return p.err
		}
	}
	paged, err := listParams(r, &f)
	if err != nil {
		return err
	}
	list, err := s.store.ListWebhooks(r.Context(), f)
	if err != nil {
		return err
	}
	if paged {
		total, err := s.store.CountWebhooks(r.Context(), f)
		if err != nil {
			return err
		}
		setPageHeaders(w, r, total, f)
	}
	out := api.WebhooksResponse{Webhooks: make([]api.Webhook, 0, len(list))}
	for _, wh := range list {
		out.Webhooks = append(out.Webhooks, toAPIWebhook(wh))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getWebhook(w http.ResponseWriter, r *http.Request) error {
	wh, err := s.loadWebhook(r)
	if err != nil {
		return err
	}
	writeWebhook(w, wh)
	return nil
}

const maxNameLength = 255

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request) error {
	obj, err := readObject(w, r, maxBodyBytes)
	if err != nil {
		return err
	}
	p := params{obj: obj}
	name, _ := p.Text("name", true, maxNameLength)
	url, _ := p.URL("http_url", true)
	method, _ := p.HTTPMethod("http_method", true)
	events, _ := p.EventArray("trigger_events", true)
	project, _ := p.ProjectID("project_id", false, true)
	disabled, _ := p.Boolean("disabled")
	if p.err != nil {
		return p.err
	}
	wh := &hookd.Webhook{Name: *name, HTTPURL: *url, HTTPMethod: *method, TriggerEvents: events, ProjectID: project}
	if disabled != nil {
		wh.Disabled = *disabled
	}
	if err := s.store.CreateWebhook(r.Context(), wh, hookd.NewSigningSecret()); err != nil {
		return projectErr(err)
	}
	writeWebhook(w, wh)
	return nil
}

// projectErr answers MediaPocket's message for a webhook scoped to an
// unregistered project.
func projectErr(err error) error {
	if errors.Is(err, hookd.ErrProjectNotFound) {
		return errorf(http.StatusNotFound, "project not found")
	}
	return err
}

func (s *Server) updateWebhook(w http.ResponseWriter, r *http.Request) error {
	obj, err := readObject(w, r, maxBodyBytes)
	if err != nil {
		return err
	}
	p := params{obj: obj}
	var u hookd.WebhookUpdate
	u.Name, _ = p.Text("name", false, maxNameLength)
	u.HTTPURL, _ = p.URL("http_url", false)
	u.HTTPMethod, _ = p.HTTPMethod("http_method", false)
	u.TriggerEvents, _ = p.EventArray("trigger_events", false)
	var hasProject bool
	u.ProjectID, hasProject = p.ProjectID("project_id", false, true)
	u.ClearProject = hasProject && u.ProjectID == nil
	u.Disabled, _ = p.Boolean("disabled")
	if p.err != nil {
		return p.err
	}
	id, err := pathID(r, "webhook_id", "Webhook")
	if err != nil {
		return err
	}
	wh, err := s.store.UpdateWebhook(r.Context(), id, u)
	if errors.Is(err, hookd.ErrNotFound) {
		return notFound("Webhook", r.PathValue("webhook_id"))
	}
	if err != nil {
		return projectErr(err)
	}
	writeWebhook(w, wh)
	return nil
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "webhook_id", "Webhook")
	if err != nil {
		return err
	}
	err = s.store.DeleteWebhook(r.Context(), id)
	if errors.Is(err, hookd.ErrNotFound) {
		return notFound("Webhook", r.PathValue("webhook_id"))
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, okAnswer)
	return nil
}
