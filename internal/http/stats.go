package http

import (
	"net/http"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/api"
)

// activities sorts the per-minute counts into the last hour (by minute)
// and the last day (by hour) at now.
func activities(now time.Time, counts []hookd.AttemptCount) (hour, day api.Activity) {
	return toAPIActivity(now, hookd.NewActivity(now, time.Minute, hookd.HourBuckets, counts)),
		toAPIActivity(now, hookd.NewActivity(now, time.Hour, hookd.DayBuckets, counts))
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
	counts, err := s.store.AttemptCounts(r.Context(), wh.ID, hookd.ActivitySince(now))
	if err != nil {
		return err
	}
	out := api.WebhookStats{At: api.Time{Time: now}, QueueLength: wh.QueueLength, RetryQueueLength: wh.RetryQueueLength}
	out.LastHour, out.LastDay = activities(now, counts)
	writeJSON(w, http.StatusOK, api.WebhookStatsResponse{Stats: out})
	return nil
}

func (s *Server) stats(w http.ResponseWriter, r *http.Request) error {
	now := s.clock.Now()
	counts, err := s.store.AttemptCounts(r.Context(), 0, hookd.ActivitySince(now))
	if err != nil {
		return err
	}
	q, err := s.store.QueueStats(r.Context())
	if err != nil {
		return err
	}
	out := api.Stats{At: api.Time{Time: now}, QueueLength: q.Queued, RetryQueueLength: q.Retrying,
		Webhooks: api.WebhookCounts{Enabled: q.EnabledWebhooks, Disabled: q.DisabledWebhooks, Failing: q.FailingWebhooks,
			CircuitsOpen: q.OpenCircuits, Throttled: q.ThrottledWebhooks}}
	out.LastHour, out.LastDay = activities(now, counts)
	writeJSON(w, http.StatusOK, api.StatsResponse{Stats: out})
	return nil
}
