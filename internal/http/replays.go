package http

import (
	"errors"
	"net/http"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/api"
	"github.com/hookd/hookd/internal/delivery"
)

// Replays (hookd.Replay) are a sub-resource of a webhook: a replay is
// created, watched and cancelled like a record, and does its work in the
// background (delivery's replay loop). Svix calls the action "recover";
// here it is a resource, since it has a life of its own to watch.

// replayListLimit is how many replays GET .../replays lists, newest first.
const replayListLimit = 50

// WithRetention tells the server how long the database keeps events
// (--retention), which bounds what a replay can reach; 0 is forever.
func WithRetention(d time.Duration) Option { return func(s *Server) { s.retention = d } }

// WithReplayObserver tells o of each replay cancelled through the API, as
// the dispatcher tells it of those it finishes.
func WithReplayObserver(o delivery.ReplayObserver) Option { return func(s *Server) { s.replays = o } }

// APIReplay is r as the API shows it (also in the replay.finished
// notification's data).
func APIReplay(r *hookd.Replay) api.Replay {
	return api.Replay{
		ID: r.ID, WebhookID: r.WebhookID, State: string(r.State),
		Since: api.Time{Time: r.Since}, Until: api.Time{Time: r.Until}, IncludeSucceeded: r.IncludeSucceeded,
		Total: r.Total, Scanned: r.Scanned, Queued: r.Queued, SkippedPayloadExpired: r.SkippedPayloadExpired,
		Pending: r.Pending, Succeeded: r.Succeeded, Failed: r.Failed,
		CreatedAt: api.Time{Time: r.CreatedAt}, FinishedAt: api.TimeOf(r.FinishedAt),
	}
}

// timeRange reads since (required) and until (optional) of a body.
func (p *params) timeRange() (since time.Time, until *time.Time) {
	if _, ok := p.lookup("since", true); !ok {
		return time.Time{}, nil
	}
	from, _ := p.Time("since")
	until, _ = p.Time("until")
	if from == nil {
		return time.Time{}, until
	}
	return *from, until
}

// rangeError turns hookd's refusal of the range of body into the API's
// 422, which shows the value as it was given.
func rangeError(err error, body map[string]any) error {
	var re *hookd.ReplayRangeError
	if !errors.As(err, &re) {
		return err
	}
	return invalid(re.Field, body[re.Field], re.Rule)
}

// createReplay starts a replay of the webhook's events in [since, until).
func (s *Server) createReplay(w http.ResponseWriter, r *http.Request) error {
	obj, err := readObject(w, r, maxBodyBytes)
	if err != nil {
		return err
	}
	p := params{obj: obj}
	since, until := p.timeRange()
	include, _ := p.Boolean("include_succeeded")
	if p.err != nil {
		return p.err
	}
	id, err := pathID(r, "webhook_id", "Webhook")
	if err != nil {
		return err
	}
	replay, err := hookd.NewReplay(id, since, until, include != nil && *include, s.clock.Now(), s.retention)
	if err != nil {
		return rangeError(err, obj)
	}
	err = s.store.CreateReplay(r.Context(), replay)
	if errors.Is(err, hookd.ErrConflict) {
		return errorf(http.StatusConflict, "Webhook %d has a replay running: cancel it or wait for it to finish", id)
	}
	if err != nil {
		return s.webhookGone(r, err)
	}
	writeJSON(w, http.StatusOK, api.ReplayResponse{Replay: APIReplay(replay)})
	return nil
}

func (s *Server) listReplays(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "webhook_id", "Webhook")
	if err != nil {
		return err
	}
	replays, err := s.store.ListReplays(r.Context(), id, replayListLimit)
	if err != nil {
		return s.webhookGone(r, err)
	}
	out := api.ReplaysResponse{Replays: make([]api.Replay, len(replays))}
	for i, replay := range replays {
		out.Replays[i] = APIReplay(replay)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// replayAction reads or cancels the replay the path names.
func (s *Server) replayAction(action func(r *http.Request, webhookID, id int64) (*hookd.Replay, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		webhookID, err := pathID(r, "webhook_id", "Webhook")
		if err != nil {
			return err
		}
		id, err := pathID(r, "replay_id", "Replay")
		if err != nil {
			return err
		}
		replay, err := action(r, webhookID, id)
		if errors.Is(err, hookd.ErrNotFound) {
			return notFound("Replay", r.PathValue("replay_id"))
		}
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, api.ReplayResponse{Replay: APIReplay(replay)})
		return nil
	}
}

func (s *Server) getReplay(r *http.Request, webhookID, id int64) (*hookd.Replay, error) {
	return s.store.Replay(r.Context(), webhookID, id)
}

// cancelReplay stops a replay; its deliveries that no attempt has started
// are dropped. Cancelling a finished replay changes nothing. The replay
// observer, if any, is told of a replay this cancel stopped (it was
// running just before).
func (s *Server) cancelReplay(r *http.Request, webhookID, id int64) (*hookd.Replay, error) {
	var wasRunning bool
	if s.replays != nil {
		before, err := s.store.Replay(r.Context(), webhookID, id)
		if err != nil {
			return nil, err
		}
		wasRunning = before.State == hookd.ReplayRunning
	}
	replay, err := s.store.CancelReplay(r.Context(), webhookID, id)
	if err == nil && wasRunning && replay.State == hookd.ReplayCancelled {
		s.replays.ReplayFinished(replay)
	}
	return replay, err
}

// retryFailed makes every webhook's deliveries that failed for good, with
// a last attempt in [since, until), due again now: an operator's action
// after an incident.
func (s *Server) retryFailed(w http.ResponseWriter, r *http.Request) error {
	obj, err := readObject(w, r, maxBodyBytes)
	if err != nil {
		return err
	}
	p := params{obj: obj}
	since, until := p.timeRange()
	if p.err != nil {
		return p.err
	}
	now := s.clock.Now()
	end := now.Add(time.Millisecond) // the failures of this very millisecond too
	if until != nil {
		end = *until
	}
	if !since.Before(end) {
		field := "since"
		if until != nil {
			field = "until"
		}
		return rangeError(&hookd.ReplayRangeError{Field: field, Rule: hookd.RuleReplayRange}, obj)
	}
	n, err := s.store.RequeueFailed(r.Context(), since, end)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.RetryResponse{Requeued: n})
	return nil
}
