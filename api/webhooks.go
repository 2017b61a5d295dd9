package api

import "time"

// Webhook is MediaPocket's webhook object, with its live queue figures.
type Webhook struct {
	ID               int64         `json:"id"`
	Name             string        `json:"name"`
	HTTPURL          string        `json:"http_url"`
	HTTPMethod       string        `json:"http_method"`
	TriggerEvents    []string      `json:"trigger_events"`
	CreatedAt        Time          `json:"created_at"`
	UpdatedAt        Time          `json:"updated_at"`
	Disabled         bool          `json:"disabled"`
	ProjectID        *string       `json:"project_id"`
	QueueLength      int           `json:"queue_length"`       // waiting for a first attempt or in flight
	RetryQueueLength int           `json:"retry_queue_length"` // waiting for a retry
	LatestRun        *Run          `json:"latest_run"`         // null before the first attempt
	WebhookUsers     []WebhookUser `json:"webhook_users"`
	WebhookHeaders   []Header      `json:"webhook_headers"`
}

// Run is a webhook's latest attempt.
type Run struct {
	CreatedAt  Time   `json:"created_at"`
	Status     string `json:"status"`      // RunSuccess or RunFailed
	HTTPStatus *int   `json:"http_status"` // null when no answer arrived
	DurationMS int64  `json:"duration_ms"`
	Event      string `json:"event"`
}

// The values of Run.Status.
const (
	RunSuccess = "success"
	RunFailed  = "failed"
)

// Header is a header sent with every delivery of a webhook.
type Header struct {
	ID        int64  `json:"id"`
	WebhookID int64  `json:"webhook_id"`
	HeaderKey string `json:"header_key"`
	// HeaderValue is null for a hidden or HMAC header, except in the answer
	// to the request that set it.
	HeaderValue *string `json:"header_value"`
	Hidden      bool    `json:"hidden"`
	IsHMAC      bool    `json:"is_hmac"`
	CreatedAt   Time    `json:"created_at"`
	UpdatedAt   Time    `json:"updated_at"`
}

// WebhookUser restricts a webhook to one user's events (and its other
// users').
type WebhookUser struct {
	ID        int64 `json:"id"`
	WebhookID int64 `json:"webhook_id"`
	UserID    int64 `json:"user_id"`
	CreatedAt Time  `json:"created_at"`
	UpdatedAt Time  `json:"updated_at"`
}

// NewWebhook is the body that creates a webhook.
type NewWebhook struct {
	Name          string   `json:"name"`
	HTTPURL       string   `json:"http_url"`
	HTTPMethod    string   `json:"http_method"` // POST, PUT or PATCH
	TriggerEvents []string `json:"trigger_events"`
	ProjectID     *string  `json:"project_id,omitempty"` // a registered project; nil: every project
	Disabled      bool     `json:"disabled,omitempty"`
}

// NewHeader is the body that adds a header to a webhook.
type NewHeader struct {
	HeaderKey   string `json:"header_key"`
	HeaderValue string `json:"header_value"`
	Hidden      bool   `json:"hidden,omitempty"`  // never shown again once set
	IsHMAC      bool   `json:"is_hmac,omitempty"` // sent as the body's HMAC keyed with the value
}

// NewWebhookUser is the body that restricts a webhook to a user's events.
type NewWebhookUser struct {
	UserID int64 `json:"user_id"`
}

// LogEntry is one attempt in a webhook's success or failed log.
type LogEntry struct {
	ID             int64             `json:"id"`
	DeliveryID     int64             `json:"delivery_id"`
	EventID        string            `json:"event_id"`
	Event          string            `json:"event"`
	MessageID      string            `json:"message_id"` // the webhook-id header
	Attempt        int               `json:"attempt"`
	HTTPStatus     *int              `json:"http_status"` // null when no answer arrived
	DurationMS     int64             `json:"duration_ms"`
	ErrorClass     *string           `json:"error_class"` // null for a success
	Error          *string           `json:"error"`
	RequestHeaders map[string]string `json:"request_headers"` // secrets masked
	ResponseBody   string            `json:"response_body"`   // the first 20 KB
	CreatedAt      Time              `json:"created_at"`
	NextAttemptAt  *Time             `json:"next_attempt_at"` // the retry this failure scheduled; null when final
}

// Retry is the body that re-queues a webhook's deliveries that failed for
// good, with a last attempt in [From, To); a bound left out is open.
type Retry struct {
	From *time.Time `json:"from,omitempty"`
	To   *time.Time `json:"to,omitempty"`
}

// The answers about webhooks.
type (
	WebhookResponse struct {
		Webhook Webhook `json:"webhook"`
	}
	WebhooksResponse struct {
		Webhooks []Webhook `json:"webhooks"`
	}
	HeaderResponse struct {
		WebhookHeader Header `json:"webhook_header"`
	}
	WebhookUserResponse struct {
		WebhookUser WebhookUser `json:"webhook_user"`
	}
	SuccessLogResponse struct {
		SuccessLog []LogEntry `json:"success_log"`
	}
	FailedLogResponse struct {
		FailedLog []LogEntry `json:"failed_log"`
	}
	// SecretResponse carries a webhook's signing secret ("whsec_...").
	SecretResponse struct {
		Secret string `json:"secret"`
	}
	// RetryResponse says how many deliveries Retry made due again.
	RetryResponse struct {
		Requeued int `json:"requeued"`
	}
)
