package http

import (
	"net/http"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/api"
)

// activities reads the counts of the last hour (by minute) and the last
// day (by hour) at now, of one webhook or (0) of all.
func (s *Server) activities(r *http.Request, webhookID int64, now time.Time) (hour, day api.Activity, err error) {
	hourly := hookd.ActivityBuckets(now, time.Minute, hookd.HourBuckets)
	daily := hookd.ActivityBuckets(now, time.Hour, hookd.DayBuckets)
	counts, err := s.store.AttemptCounts(r.Context(), webhookID, append(hourly, daily...))
	if err != nil {
		return hour, day, err
	}
	return toAPIActivity(now, hookd.NewActivity(hourly, counts[:len(hourly)])),
		toAPIActivity(now, hookd.NewActivity(daily, counts[len(hourly):])), nil
}

func toAPIActivity(now time.Time, a hookd.Activity) api.Activity {
	out := api.Activity{
		From: api.Time{Time: a.From}, BucketSeconds: int(a.Width / time.Second),
		Succeeded: make([]int, len(a.Buckets)), Failed: make([]int, len(a.Buckets)),
		TotalSucceeded: a.Succeeded, TotalFailed: a.Failed,
		SucceededPerMinute: a.PerMinute(now, a.Succeeded), FailedPerMinute: a.PerMinute(now, a.Failed),
	}
	for i, b := range a.Buckets {
		out.Succeeded[i], out.Failed[i] = b.Succeeded, b.Failed
	}
	return out
}

func (s *Server) webhookStats(w http.ResponseWriter, r *http.Request) error {
	wh, err := s.loadWebhook(r)
	if err != nil {
		return err
	}
	now := s.clock.Now()
	out := api.WebhookStats{At: api.Time{Time: now}, QueueLength: wh.QueueLength, RetryQueueLength: wh.RetryQueueLength}
	if out.LastHour, out.LastDay, err = s.activities(r, wh.ID, now); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.WebhookStatsResponse{Stats: out})
	return nil
}

func (s *Server) stats(w http.ResponseWriter, r *http.Request) error {
	now := s.clock.Now()
	q, err := s.store.QueueStats(r.Context())
	if err != nil {
		return err
	}
	out := api.Stats{At: api.Time{Time: now}, QueueLength: q.Queued, RetryQueueLength: q.Retrying,
		Webhooks: api.WebhookCounts{Enabled: q.EnabledWebhooks, Disabled: q.DisabledWebhooks, Failing: q.FailingWebhooks,
			CircuitsOpen: q.OpenCircuits, Throttled: q.ThrottledWebhooks}}
	if out.LastHour, out.LastDay, err = s.activities(r, 0, now); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.StatsResponse{Stats: out})
	return nil
}
