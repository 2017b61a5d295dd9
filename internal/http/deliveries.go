package http

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/api"
	"github.com/hookd/hookd/internal/delivery"
)

func toAPIDelivery(d *hookd.DeliveryRecord) api.Delivery {
	out := api.Delivery{
		ID: d.ID, WebhookID: d.WebhookID, EventID: d.EventID, Event: d.Event, MessageID: d.MessageID,
		State: string(d.State), AttemptCount: d.Attempts, NextAttemptAt: api.TimeOf(d.NextAttemptAt),
		LastAttemptAt: api.TimeOf(d.LastAttemptAt), CreatedAt: api.Time{Time: d.CreatedAt},
		Attempts: make([]api.LogEntry, 0, len(d.Log)),
	}
	for _, e := range d.Log {
		out.Attempts = append(out.Attempts, toAPILogEntry(e))
	}
	return out
}

const ruleDeliveryStates = "Must be a comma-separated list of: succeeded, failed, pending"

// deliveryStates reads the state query parameter: one or more states,
// comma separated.
func deliveryStates(r *http.Request) ([]hookd.DeliveryState, error) {
	q := r.URL.Query()
	if !q.Has("state") {
		return nil, missing("state")
	}
	raw := q.Get("state")
	var out []hookd.DeliveryState
	for _, part := range strings.Split(raw, ",") {
		st := hookd.DeliveryState(strings.TrimSpace(part))
		if !slices.Contains(hookd.DeliveryStates, st) {
			return nil, invalid("state", raw, ruleDeliveryStates)
		}
		if !slices.Contains(out, st) {
			out = append(out, st)
		}
	}
	return out, nil
}

func (s *Server) listDeliveries(w http.ResponseWriter, r *http.Request) error {
	states, err := deliveryStates(r)
	if err != nil {
		return err
	}
	pageNo, perPage, err := page(r)
	if err != nil {
		return err
	}
	id, err := pathID(r, "webhook_id", "Webhook")
	if err != nil {
		return err
	}
	list, err := s.store.DeliveryLog(r.Context(), id, states, pageNo, perPage)
	if errors.Is(err, hookd.ErrNotFound) {
		return notFound("Webhook", r.PathValue("webhook_id"))
	}
	if err != nil {
		return err
	}
	out := api.DeliveriesResponse{Deliveries: make([]api.Delivery, 0, len(list))}
	for _, d := range list {
		out.Deliveries = append(out.Deliveries, toAPIDelivery(d))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// getDelivery answers a delivery with the body it sends and a curl command
// that repeats its latest attempt's request (to the webhook's URL now).
func (s *Server) getDelivery(w http.ResponseWriter, r *http.Request) error {
	wh, err := s.loadWebhook(r)
	if err != nil {
		return err
	}
	deliveryID, err := pathID(r, "delivery_id", "Delivery")
	if err != nil {
		return err
	}
	d, ev, err := s.store.Delivery(r.Context(), wh.ID, deliveryID)
	if errors.Is(err, hookd.ErrNotFound) {
		return notFound("Delivery", r.PathValue("delivery_id"))
	}
	if err != nil {
		return err
	}
	body := delivery.Body(ev, wh.ID)
	shown := map[string]string{"Content-Type": "application/json", delivery.HeaderWebhookID: d.MessageID}
	if n := len(d.Log); n > 0 {
		shown = d.Log[n-1].RequestHeaders
	}
	writeJSON(w, http.StatusOK, api.DeliveryResponse{
		Delivery: toAPIDelivery(d), Payload: body, Curl: delivery.Curl(wh.HTTPMethod, wh.HTTPURL, shown, body),
	})
	return nil
}
