package http

import (
	"context"
	"errors"
	"net/http"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/api"
)

func toAPICircuit(c hookd.Circuit) api.Circuit {
	state := c.State
	if state == "" {
		state = hookd.CircuitClosed
	}
	return api.Circuit{
		State: string(state), ConsecutiveFailures: c.Failures,
		OpenedAt: api.TimeOf(c.OpenedAt), NextProbeAt: api.TimeOf(c.ProbeAt),
	}
}

func (s *Server) getCircuit(w http.ResponseWriter, r *http.Request) error {
	return s.answerCircuit(w, r, s.store.Circuit)
}

// probeCircuit makes an open circuit's probe go out now.
func (s *Server) probeCircuit(w http.ResponseWriter, r *http.Request) error {
	return s.answerCircuit(w, r, s.store.ProbeCircuit)
}

// answerCircuit answers the circuit that do returns for the path's webhook.
func (s *Server) answerCircuit(w http.ResponseWriter, r *http.Request, do func(context.Context, int64) (hookd.Circuit, error)) error {
	id, err := pathID(r, "webhook_id", "Webhook")
	if err != nil {
		return err
	}
	c, err := do(r.Context(), id)
	if errors.Is(err, hookd.ErrNotFound) {
		return notFound("Webhook", r.PathValue("webhook_id"))
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.CircuitResponse{Circuit: toAPICircuit(c)})
	return nil
}
