// Package client is a Go client for hookd's API: publishers send events,
// admins manage webhooks and read their logs.
//
//	c := client.New("http://127.0.0.1:8080", os.Getenv("HOOKD_API_KEY"))
//	ev, err := c.Publish(ctx, client.Event{Event: "ASSET_ADDED", ProjectID: &project, Data: data})
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client calls one hookd server with one API key.
type Client struct {
	baseURL string
	apiKey  string
	http    *http.Client
}

// New returns a client of the hookd at baseURL (e.g. "http://127.0.0.1:8080").
func New(baseURL, apiKey string) *Client {
	return &Client{baseURL: strings.TrimSuffix(baseURL, "/"), apiKey: apiKey, http: &http.Client{Timeout: 30 * time.Second}}
}

// WithHTTPClient replaces the HTTP client (for timeouts or transports).
func (c *Client) WithHTTPClient(h *http.Client) *Client {
	c.http = h
	return c
}

// Error is an answer other than 200, with the API's message.
type Error struct {
	Status  int
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("hookd: %d %s", e.Status, e.Message) }

// do sends a request and decodes a 200 answer into out.
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.baseURL+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("X-API-KEY", c.apiKey)
	res, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		var e struct{ Error string }
		if json.Unmarshal(data, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(data))
		}
		return &Error{Status: res.StatusCode, Message: e.Error}
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(data, out)
}

// Event is an event to publish, and as stored.
type Event struct {
	ID        string          `json:"id,omitempty"`
	Event     string          `json:"event"`
	ProjectID *string         `json:"project_id,omitempty"`
	UserID    *int64          `json:"user_id,omitempty"`
	Data      json.RawMessage `json:"data,omitempty"`
}

// PublishedEvent is a stored event and how many deliveries it created.
type PublishedEvent struct {
	ID         string          `json:"id"`
	Event      string          `json:"event"`
	CreatedAt  time.Time       `json:"created_at"`
	ProjectID  *string         `json:"project_id"`
	UserID     *int64          `json:"user_id"`
	Data       json.RawMessage `json:"data"`
	Deliveries int             `json:"deliveries"`
	Duplicate  bool            `json:"duplicate"`
}

// Publish sends one event.
func (c *Client) Publish(ctx context.Context, e Event) (*PublishedEvent, error) {
	var out struct{ Event PublishedEvent }
	if err := c.do(ctx, "POST", "/api/v2/events", e, &out); err != nil {
		return nil, err
	}
	return &out.Event, nil
}

// PublishBatch sends up to 1,000 events in one request and one transaction.
func (c *Client) PublishBatch(ctx context.Context, events []Event) ([]PublishedEvent, error) {
	var out struct{ Events []PublishedEvent }
	if err := c.do(ctx, "POST", "/api/v2/events/batch", map[string]any{"events": events}, &out); err != nil {
		return nil, err
	}
	return out.Events, nil
}

// Webhook is a webhook as the admin API shows it.
type Webhook struct {
	ID               int64         `json:"id"`
	Name             string        `json:"name"`
	HTTPURL          string        `json:"http_url"`
	HTTPMethod       string        `json:"http_method"`
	TriggerEvents    []string      `json:"trigger_events"`
	CreatedAt        time.Time     `json:"created_at"`
	UpdatedAt        time.Time     `json:"updated_at"`
	Disabled         bool          `json:"disabled"`
	ProjectID        *string       `json:"project_id"`
	QueueLength      int           `json:"queue_length"`
	RetryQueueLength int           `json:"retry_queue_length"`
	LatestRun        *Run          `json:"latest_run"`
	WebhookUsers     []WebhookUser `json:"webhook_users"`
	WebhookHeaders   []Header      `json:"webhook_headers"`
}

// Run is a webhook's latest attempt.
type Run struct {
	CreatedAt  time.Time `json:"created_at"`
	Status     string    `json:"status"`
	HTTPStatus *int      `json:"http_status"`
	DurationMS int64     `json:"duration_ms"`
	Event      string    `json:"event"`
}

// Header is a header sent with every delivery of a webhook.
type Header struct {
	ID          int64   `json:"id,omitempty"`
	WebhookID   int64   `json:"webhook_id,omitempty"`
	HeaderKey   string  `json:"header_key"`
	HeaderValue *string `json:"header_value"`
	Hidden      bool    `json:"hidden"`
	IsHMAC      bool    `json:"is_hmac"`
}

// WebhookUser restricts a webhook to one user's events.
type WebhookUser struct {
	ID        int64 `json:"id"`
	WebhookID int64 `json:"webhook_id"`
	UserID    int64 `json:"user_id"`
}

// NewWebhook is the body of a webhook creation.
type NewWebhook struct {
	Name          string   `json:"name"`
	HTTPURL       string   `json:"http_url"`
	HTTPMethod    string   `json:"http_method"`
	TriggerEvents []string `json:"trigger_events"`
	ProjectID     *string  `json:"project_id,omitempty"`
}

// CreateWebhook registers a webhook.
func (c *Client) CreateWebhook(ctx context.Context, w NewWebhook) (*Webhook, error) {
	var out struct{ Webhook Webhook }
	if err := c.do(ctx, "POST", "/api/v2/admin/webhooks", w, &out); err != nil {
		return nil, err
	}
	return &out.Webhook, nil
}

// UpdateWebhook changes the fields present in update (MediaPocket's partial
// update; a "project_id": nil entry clears the project).
func (c *Client) UpdateWebhook(ctx context.Context, id int64, update map[string]any) (*Webhook, error) {
	var out struct{ Webhook Webhook }
	if err := c.do(ctx, "POST", fmt.Sprintf("/api/v2/admin/webhooks/%d", id), update, &out); err != nil {
		return nil, err
	}
	return &out.Webhook, nil
}

// Webhook reads one webhook with its live queue figures.
func (c *Client) Webhook(ctx context.Context, id int64) (*Webhook, error) {
	var out struct{ Webhook Webhook }
	if err := c.do(ctx, "GET", fmt.Sprintf("/api/v2/admin/webhooks/%d", id), nil, &out); err != nil {
		return nil, err
	}
	return &out.Webhook, nil
}

// AddHeader adds a header to a webhook.
func (c *Client) AddHeader(ctx context.Context, webhookID int64, key, value string, hidden, isHMAC bool) (*Header, error) {
	var out struct {
		WebhookHeader Header `json:"webhook_header"`
	}
	in := map[string]any{"header_key": key, "header_value": value, "hidden": hidden, "is_hmac": isHMAC}
	if err := c.do(ctx, "POST", fmt.Sprintf("/api/v2/admin/webhooks/%d/webhook_headers", webhookID), in, &out); err != nil {
		return nil, err
	}
	return &out.WebhookHeader, nil
}

// AddUser restricts a webhook to events of userID (and of its other users).
func (c *Client) AddUser(ctx context.Context, webhookID, userID int64) (*WebhookUser, error) {
	var out struct {
		WebhookUser WebhookUser `json:"webhook_user"`
	}
	in := map[string]any{"user_id": userID}
	if err := c.do(ctx, "POST", fmt.Sprintf("/api/v2/admin/webhooks/%d/webhook_users", webhookID), in, &out); err != nil {
		return nil, err
	}
	return &out.WebhookUser, nil
}

// LogEntry is one attempt in a webhook's success or failed log.
type LogEntry struct {
	ID             int64             `json:"id"`
	DeliveryID     int64             `json:"delivery_id"`
	EventID        string            `json:"event_id"`
	Event          string            `json:"event"`
	MessageID      string            `json:"message_id"`
	Attempt        int               `json:"attempt"`
	HTTPStatus     *int              `json:"http_status"`
	DurationMS     int64             `json:"duration_ms"`
	ErrorClass     *string           `json:"error_class"`
	Error          *string           `json:"error"`
	RequestHeaders map[string]string `json:"request_headers"`
	ResponseBody   string            `json:"response_body"`
	CreatedAt      time.Time         `json:"created_at"`
	NextAttemptAt  *time.Time        `json:"next_attempt_at"`
}

// SuccessLog lists a webhook's successful attempts, newest first.
func (c *Client) SuccessLog(ctx context.Context, webhookID int64, page, perPage int) ([]LogEntry, error) {
	var out struct {
		Log []LogEntry `json:"success_log"`
	}
	err := c.do(ctx, "GET", fmt.Sprintf("/api/v2/admin/webhooks/%d/success?%s", webhookID, pageQuery(page, perPage)), nil, &out)
	return out.Log, err
}

// FailedLog lists a webhook's failed attempts, newest first.
func (c *Client) FailedLog(ctx context.Context, webhookID int64, page, perPage int) ([]LogEntry, error) {
	var out struct {
		Log []LogEntry `json:"failed_log"`
	}
	err := c.do(ctx, "GET", fmt.Sprintf("/api/v2/admin/webhooks/%d/failed?%s", webhookID, pageQuery(page, perPage)), nil, &out)
	return out.Log, err
}

func pageQuery(page, perPage int) string {
	return url.Values{"page": {fmt.Sprint(max(page, 1))}, "per_page": {fmt.Sprint(max(perPage, 1))}}.Encode()
}

// Secret returns a webhook's signing secret ("whsec_...").
func (c *Client) Secret(ctx context.Context, webhookID int64) (string, error) {
	var out struct{ Secret string }
	err := c.do(ctx, "GET", fmt.Sprintf("/api/v2/admin/webhooks/%d/secret", webhookID), nil, &out)
	return out.Secret, err
}

// RotateSecret replaces a webhook's signing secret; the old one keeps
// signing beside it for 24 hours.
func (c *Client) RotateSecret(ctx context.Context, webhookID int64) (string, error) {
	var out struct{ Secret string }
	err := c.do(ctx, "POST", fmt.Sprintf("/api/v2/admin/webhooks/%d/secret/rotate", webhookID), nil, &out)
	return out.Secret, err
}

// Test sends a test event to a webhook now.
func (c *Client) Test(ctx context.Context, webhookID int64) (*PublishedEvent, error) {
	var out struct{ Event PublishedEvent }
	if err := c.do(ctx, "POST", fmt.Sprintf("/api/v2/admin/webhooks/%d/test", webhookID), nil, &out); err != nil {
		return nil, err
	}
	return &out.Event, nil
}

// Retry re-queues a webhook's deliveries that failed for good with a last
// attempt in [from, to); zero times leave that bound open.
func (c *Client) Retry(ctx context.Context, webhookID int64, from, to time.Time) (int, error) {
	in := map[string]string{}
	if !from.IsZero() {
		in["from"] = from.UTC().Format(time.RFC3339Nano)
	}
	if !to.IsZero() {
		in["to"] = to.UTC().Format(time.RFC3339Nano)
	}
	var out struct{ Requeued int }
	err := c.do(ctx, "POST", fmt.Sprintf("/api/v2/admin/webhooks/%d/retry", webhookID), in, &out)
	return out.Requeued, err
}

// CreateProject registers a project id (empty id: hookd makes one).
func (c *Client) CreateProject(ctx context.Context, id, title string) error {
	in := map[string]string{"title": title}
	if id != "" {
		in["id"] = id
	}
	return c.do(ctx, "POST", "/api/v2/admin/projects", in, nil)
}
