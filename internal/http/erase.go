package http

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/api"
)

// Erasure (GDPR): an admin erases the data of one event, or of every event
// of a project or of a user. They are actions (POST .../erase) on
// sub-resources of their own rather than DELETEs: the event stays, with
// its metadata (id, name, times, delivery statuses), and only its data and
// the logged response bodies go. The store cancels the event's queued
// deliveries and logs each cancellation.

func (s *Server) eraseEvent(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("event_id")
	erased, err := s.erase(r, hookd.Erasure{EventID: id})
	if errors.Is(err, hookd.ErrNotFound) {
		return notFound("Event", id)
	}
	return writeErased(w, erased, err)
}

// eraseProject erases the events that name the project, registered or not:
// a purged project's events still hold its data.
func (s *Server) eraseProject(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("project_id")
	if !hookd.ValidProjectID(id) {
		return invalid("project_id", id, ruleProjectID)
	}
	erased, err := s.erase(r, hookd.Erasure{ProjectID: id})
	return writeErased(w, erased, err)
}

// eraseUser erases the events that name the user (the user_id of events,
// an integer: hookd keeps no user records).
func (s *Server) eraseUser(w http.ResponseWriter, r *http.Request) error {
	raw := r.PathValue("user_id")
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return invalid("user_id", raw, ruleInteger)
	}
	erased, err := s.erase(r, hookd.Erasure{UserID: &id})
	return writeErased(w, erased, err)
}

// erase runs an erasure to its end even when its client goes away: a
// project's events are erased in several transactions (hookd.EraseChunk),
// and one cut short would leave the request half done, unanswered (the store's
// deadline still bounds it).
func (s *Server) erase(r *http.Request, e hookd.Erasure) (hookd.Erased, error) {
	return s.store.Erase(context.WithoutCancel(r.Context()), e)
}

func writeErased(w http.ResponseWriter, e hookd.Erased, err error) error {
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.ErasedResponse{Erased: api.Erased{
		Events: e.Events, CancelledDeliveries: e.Cancelled, ClearedAttempts: e.Attempts}})
	return nil
}
