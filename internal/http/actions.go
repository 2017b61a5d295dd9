package http

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/api"
)

// The actions on one webhook beyond MediaPocket's API: its signing secret,
// a test delivery and re-queueing failed deliveries.

func (s *Server) getSecret(w http.ResponseWriter, r *http.Request) error {
	wh, err := s.loadWebhook(r)
	if err != nil {
		return err
	}
	secrets, err := s.store.Secrets(r.Context(), wh.ID)
	if err != nil {
		return s.webhookGone(r, err)
	}
	writeJSON(w, http.StatusOK, api.SecretResponse{Secret: secrets[0]})
	return nil
}

// rotateSecret replaces the signing secret; the old one keeps signing beside
// it for hookd.SigningSecretGrace.
func (s *Server) rotateSecret(w http.ResponseWriter, r *http.Request) error {
	wh, err := s.loadWebhook(r)
	if err != nil {
		return err
	}
	secret := hookd.NewSigningSecret()
	if err := s.store.RotateSecret(r.Context(), wh.ID, secret, s.clock.Now().Add(hookd.SigningSecretGrace)); err != nil {
		return s.webhookGone(r, err)
	}
	writeJSON(w, http.StatusOK, api.SecretResponse{Secret: secret})
	return nil
}

// testWebhook queues an event for this webhook alone, whatever its
// subscriptions; it goes out at once through the normal queue.
func (s *Server) testWebhook(w http.ResponseWriter, r *http.Request) error {
	fields, err := readFields(w, r, maxBodyBytes, "event", "data")
	if err != nil {
		return err
	}
	p := params{obj: map[string]any{}}
	if raw, ok := fields["event"]; ok {
		p.obj["event"] = decodeValue(raw)
	}
	name, _ := p.EventName("event", false)
	if p.err != nil {
		return p.err
	}
	data, err := dataObject(fields, "", json.RawMessage(`{"test":true}`))
	if err != nil {
		return err
	}
	wh, err := s.loadWebhook(r)
	if err != nil {
		return err
	}
	e := &hookd.Event{ProjectID: wh.ProjectID, Data: data, CreatedAt: s.clock.Now()}
	switch {
	case name != nil:
		e.Event = *name
	case len(wh.TriggerEvents) > 0:
		e.Event = wh.TriggerEvents[0]
	default:
		return missing("event")
	}
	if err := s.publishTo(r.Context(), callerKey(r), wh.ID, e); err != nil {
		return s.webhookGone(r, err)
	}
	writePublished(w, hookd.Published{Event: *e, Deliveries: 1})
	return nil
}

// retryWebhook makes the deliveries that failed for good, with a last
// attempt in [from, to), due again now. Both bounds are optional.
func (s *Server) retryWebhook(w http.ResponseWriter, r *http.Request) error {
	obj, err := readObject(w, r, maxBodyBytes)
	if err != nil {
		return err
	}
	p := params{obj: obj}
	from, _ := p.Time("from")
	to, _ := p.Time("to")
	if p.err != nil {
		return p.err
	}
	wh, err := s.loadWebhook(r)
	if err != nil {
		return err
	}
	now := s.clock.Now()
	start, end := time.UnixMilli(0).UTC(), now.Add(time.Millisecond)
	if from != nil {
		start = *from
	}
	if to != nil {
		end = *to
	}
	n, err := s.store.Requeue(r.Context(), wh.ID, start, end)
	if err != nil {
		return s.webhookGone(r, err)
	}
	writeJSON(w, http.StatusOK, api.RetryResponse{Requeued: n})
	return nil
}
