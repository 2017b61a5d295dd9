package api

import "time"

// NewReplay is the body that starts a replay of a webhook's events
// (POST /api/v2/admin/webhooks/:id/replays): those accepted in
// [Since, Until) that the webhook receives as it is now.
type NewReplay struct {
	Since time.Time  `json:"since"`
	Until *time.Time `json:"until,omitempty"` // nil: now
	// IncludeSucceeded re-sends the events the webhook already received
	// too; by default only those it did not (failed for good, or never
	// sent).
	IncludeSucceeded bool `json:"include_succeeded,omitempty"`
}

// Replay is a replay and its progress.
type Replay struct {
	ID               int64  `json:"id"`
	WebhookID        int64  `json:"webhook_id"`
	State            string `json:"state"` // running, done or cancelled
	Since            Time   `json:"since"`
	Until            Time   `json:"until"`
	IncludeSucceeded bool   `json:"include_succeeded"`
	// Total is how many events were accepted in the range (for any
	// webhook), Scanned how many of them the replay has read, Queued how
	// many deliveries it made, SkippedPayloadExpired how many events it
	// did not re-send because payload retention had cleared their data.
	Total                 int `json:"total"`
	Scanned               int `json:"scanned"`
	Queued                int `json:"queued"`
	SkippedPayloadExpired int `json:"skipped_payload_expired"`
	// What became of its deliveries so far.
	Pending    int   `json:"pending"`
	Succeeded  int   `json:"succeeded"`
	Failed     int   `json:"failed"`
	CreatedAt  Time  `json:"created_at"`
	FinishedAt *Time `json:"finished_at"` // null while running
}

// RetryFailed is the body of POST /api/v2/admin/webhooks/retry_failed:
// every webhook's deliveries that failed for good, with a last attempt in
// [Since, Until), go out again.
type RetryFailed struct {
	Since time.Time  `json:"since"`
	Until *time.Time `json:"until,omitempty"` // nil: now
}

// The answers about replays.
type (
	ReplayResponse struct {
		Replay Replay `json:"replay"`
	}
	ReplaysResponse struct {
		Replays []Replay `json:"replays"`
	}
)
