package api

// Activity is a window of attempt counts: Succeeded[i] and Failed[i] are
// the attempts that ended in the bucket that starts at From + i ×
// BucketSeconds; the last bucket holds At, the time of the answer.
type Activity struct {
	From          Time  `json:"from"`
	BucketSeconds int   `json:"bucket_seconds"`
	Succeeded     []int `json:"succeeded"`
	Failed        []int `json:"failed"`
	// The totals over the window, and the same per minute of it (until At).
	TotalSucceeded     int     `json:"total_succeeded"`
	TotalFailed        int     `json:"total_failed"`
	SucceededPerMinute float64 `json:"succeeded_per_minute"`
	FailedPerMinute    float64 `json:"failed_per_minute"`
}

// WebhookStats are one webhook's figures, read at
// /api/v2/admin/webhooks/:id/stats: its attempts over the last hour (per
// minute) and day (per hour), and its queues.
type WebhookStats struct {
	At               Time     `json:"at"`
	LastHour         Activity `json:"last_hour"`
	LastDay          Activity `json:"last_day"`
	QueueLength      int      `json:"queue_length"`
	RetryQueueLength int      `json:"retry_queue_length"`
}

// WebhookStatsResponse is the answer of GET .../webhooks/:id/stats.
type WebhookStatsResponse struct {
	Stats WebhookStats `json:"stats"`
}

// WebhookCounts count the webhooks by health.
type WebhookCounts struct {
	Enabled  int `json:"enabled"`
	Disabled int `json:"disabled"`
	// Failing: enabled, and their latest attempt failed.
	Failing int `json:"failing"`
	// CircuitsOpen: their circuit is open or half open.
	CircuitsOpen int `json:"circuits_open"`
	// Throttled: enabled, and their throttle holds back a due delivery.
	Throttled int `json:"throttled"`
}

// Stats are the whole service's figures, read at
// /api/v2/admin/webhooks/stats.
type Stats struct {
	At               Time          `json:"at"`
	LastHour         Activity      `json:"last_hour"`
	LastDay          Activity      `json:"last_day"`
	QueueLength      int           `json:"queue_length"`
	RetryQueueLength int           `json:"retry_queue_length"`
	Webhooks         WebhookCounts `json:"webhooks"`
}

// StatsResponse is the answer of GET /api/v2/admin/webhooks/stats.
type StatsResponse struct {
	Stats Stats `json:"stats"`
}
