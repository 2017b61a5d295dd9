// Package client is a Go client for hookd's API: publishers send events,
// admins manage webhooks and read their logs. The bodies it sends and reads
// are package api's, the types the server itself encodes.
//
//	c := client.New("http://127.0.0.1:8080", os.Getenv("HOOKD_API_KEY"))
//	ev, err := c.Publish(ctx, &api.Event{Event: "ASSET_ADDED", ProjectID: &project, Data: data})
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

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/api"
)

// Client calls one hookd server with one API key.
type Client struct {
	baseURL string
	apiKey  string
	http    *http.Client
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sends the requests with h (for its timeout or transport)
// instead of a client with a 30 s timeout.
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// New returns a client of the hookd at baseURL (e.g. "http://127.0.0.1:8080").
func New(baseURL, apiKey string, opts ...Option) *Client {
	c := &Client{baseURL: strings.TrimSuffix(baseURL, "/"), apiKey: apiKey, http: &http.Client{Timeout: 30 * time.Second}}
	for _, opt := range opts {
		opt(c)
	}
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
	_, err := c.send(ctx, method, path, in, out)
	return err
}

// send is do that also returns the answer's headers.
func (c *Client) send(ctx context.Context, method, path string, in, out any) (http.Header, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.baseURL+path, body)
	if err != nil {
		return nil, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("X-API-KEY", c.apiKey)
	res, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		var e api.Error
		if json.Unmarshal(data, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(data))
		}
		return nil, &Error{Status: res.StatusCode, Message: e.Error}
	}
	if out == nil {
		return res.Header, nil
	}
	return res.Header, json.Unmarshal(data, out)
}

// Publish sends one event. An event without an ID gets a random one here,
// written into e before it is sent, so that publishing e again after an
// error (a timeout, say, when hookd may have stored it) is answered with
// the stored event instead of storing it twice.
func (c *Client) Publish(ctx context.Context, e *api.Event) (*api.PublishedEvent, error) {
	fillID(e)
	var out api.EventResponse
	if err := c.do(ctx, "POST", "/api/v2/events", e, &out); err != nil {
		return nil, err
	}
	return &out.Event, nil
}

// PublishBatch sends up to 1,000 events in one request and one
// transaction. Events without an ID get one in place, as in Publish, so
// that sending the same slice again is safe.
func (c *Client) PublishBatch(ctx context.Context, events []api.Event) ([]api.PublishedEvent, error) {
	for i := range events {
		fillID(&events[i])
	}
	var out api.EventsResponse
	if err := c.do(ctx, "POST", "/api/v2/events/batch", api.Batch{Events: events}, &out); err != nil {
		return nil, err
	}
	return out.Events, nil
}

// fillID gives an event without an ID one in the form hookd gives its own.
func fillID(e *api.Event) {
	if e.ID == "" {
		e.ID = hookd.NewEventID()
	}
}

// CreateWebhook registers a webhook.
func (c *Client) CreateWebhook(ctx context.Context, w api.NewWebhook) (*api.Webhook, error) {
	var out api.WebhookResponse
	if err := c.do(ctx, "POST", "/api/v2/admin/webhooks", w, &out); err != nil {
		return nil, err
	}
	return &out.Webhook, nil
}

// UpdateWebhook changes the fields present in update (MediaPocket's partial
// update; a "project_id": nil entry clears the project).
func (c *Client) UpdateWebhook(ctx context.Context, id int64, update map[string]any) (*api.Webhook, error) {
	var out api.WebhookResponse
	if err := c.do(ctx, "POST", fmt.Sprintf("/api/v2/admin/webhooks/%d", id), update, &out); err != nil {
		return nil, err
	}
	return &out.Webhook, nil
}

// Webhook reads one webhook with its live queue figures.
func (c *Client) Webhook(ctx context.Context, id int64) (*api.Webhook, error) {
	var out api.WebhookResponse
	if err := c.do(ctx, "GET", fmt.Sprintf("/api/v2/admin/webhooks/%d", id), nil, &out); err != nil {
		return nil, err
	}
	return &out.Webhook, nil
}

// AddHeader adds a header to a webhook. The answer shows its value even
// when hidden, this once.
func (c *Client) AddHeader(ctx context.Context, webhookID int64, h api.NewHeader) (*api.Header, error) {
	var out api.HeaderResponse
	if err := c.do(ctx, "POST", fmt.Sprintf("/api/v2/admin/webhooks/%d/webhook_headers", webhookID), h, &out); err != nil {
		return nil, err
	}
	return &out.WebhookHeader, nil
}

// AddUser restricts a webhook to events of userID (and of its other users).
func (c *Client) AddUser(ctx context.Context, webhookID, userID int64) (*api.WebhookUser, error) {
	var out api.WebhookUserResponse
	in := api.NewWebhookUser{UserID: userID}
	if err := c.do(ctx, "POST", fmt.Sprintf("/api/v2/admin/webhooks/%d/webhook_users", webhookID), in, &out); err != nil {
		return nil, err
	}
	return &out.WebhookUser, nil
}

// SuccessLog lists a webhook's successful attempts, newest first.
func (c *Client) SuccessLog(ctx context.Context, webhookID int64, page, perPage int) ([]api.LogEntry, error) {
	var out api.SuccessLogResponse
	err := c.do(ctx, "GET", fmt.Sprintf("/api/v2/admin/webhooks/%d/success?%s", webhookID, pageQuery(page, perPage)), nil, &out)
	return out.SuccessLog, err
}

// FailedLog lists a webhook's failed attempts, newest first.
func (c *Client) FailedLog(ctx context.Context, webhookID int64, page, perPage int) ([]api.LogEntry, error) {
	var out api.FailedLogResponse
	err := c.do(ctx, "GET", fmt.Sprintf("/api/v2/admin/webhooks/%d/failed?%s", webhookID, pageQuery(page, perPage)), nil, &out)
	return out.FailedLog, err
}

func pageQuery(page, perPage int) string {
	return url.Values{"page": {fmt.Sprint(max(page, 1))}, "per_page": {fmt.Sprint(max(perPage, 1))}}.Encode()
}

// Secret returns a webhook's signing secret ("whsec_...").
func (c *Client) Secret(ctx context.Context, webhookID int64) (string, error) {
	var out api.SecretResponse
	err := c.do(ctx, "GET", fmt.Sprintf("/api/v2/admin/webhooks/%d/secret", webhookID), nil, &out)
	return out.Secret, err
}

// RotateSecret replaces a webhook's signing secret; the old one keeps
// signing beside it for 24 hours.
func (c *Client) RotateSecret(ctx context.Context, webhookID int64) (string, error) {
	var out api.SecretResponse
	err := c.do(ctx, "POST", fmt.Sprintf("/api/v2/admin/webhooks/%d/secret/rotate", webhookID), nil, &out)
	return out.Secret, err
}

// Settings reads hookd's own settings of a webhook (nil: the default).
func (c *Client) Settings(ctx context.Context, webhookID int64) (*api.Settings, error) {
	var out api.SettingsResponse
	if err := c.do(ctx, "GET", fmt.Sprintf("/api/v2/admin/webhooks/%d/settings", webhookID), nil, &out); err != nil {
		return nil, err
	}
	return &out.Settings, nil
}

// Circuit reads a webhook's circuit breaker.
func (c *Client) Circuit(ctx context.Context, webhookID int64) (*api.Circuit, error) {
	var out api.CircuitResponse
	if err := c.do(ctx, "GET", fmt.Sprintf("/api/v2/admin/webhooks/%d/circuit", webhookID), nil, &out); err != nil {
		return nil, err
	}
	return &out.Circuit, nil
}

// EraseEvent erases one event's data (GDPR): its data, the response
// bodies logged for it and its queued deliveries, which are cancelled.
// Its metadata stays. An unknown event is a 404 *Error.
func (c *Client) EraseEvent(ctx context.Context, eventID string) (*api.Erased, error) {
	return c.erase(ctx, "/api/v2/admin/events/"+url.PathEscape(eventID)+"/erase")
}

// EraseProject erases the data of every event of a project, as EraseEvent.
func (c *Client) EraseProject(ctx context.Context, projectID string) (*api.Erased, error) {
	return c.erase(ctx, "/api/v2/admin/projects/"+url.PathEscape(projectID)+"/erase")
}

// EraseUser erases the data of every event of a user, as EraseEvent.
func (c *Client) EraseUser(ctx context.Context, userID int64) (*api.Erased, error) {
	return c.erase(ctx, fmt.Sprintf("/api/v2/admin/users/%d/erase", userID))
}

func (c *Client) erase(ctx context.Context, path string) (*api.Erased, error) {
	var out api.ErasedResponse
	if err := c.do(ctx, "POST", path, nil, &out); err != nil {
		return nil, err
	}
	return &out.Erased, nil
}

// UpdateSettings changes the settings present in update, keyed by their
// JSON names ("max_in_flight", "max_per_second", "filter", "ordering"); a
// nil entry resets one to the default. It returns the webhook's settings
// after the change.
func (c *Client) UpdateSettings(ctx context.Context, webhookID int64, update map[string]any) (*api.Settings, error) {
	var out api.SettingsResponse
	in := map[string]any{"settings": update}
	if err := c.do(ctx, "POST", fmt.Sprintf("/api/v2/admin/webhooks/%d/settings", webhookID), in, &out); err != nil {
		return nil, err
	}
	return &out.Settings, nil
}

// Test sends a test event to a webhook now.
func (c *Client) Test(ctx context.Context, webhookID int64) (*api.PublishedEvent, error) {
	var out api.EventResponse
	if err := c.do(ctx, "POST", fmt.Sprintf("/api/v2/admin/webhooks/%d/test", webhookID), nil, &out); err != nil {
		return nil, err
	}
	return &out.Event, nil
}

// Retry re-queues a webhook's deliveries that failed for good with a last
// attempt in [from, to); zero times leave that bound open.
func (c *Client) Retry(ctx context.Context, webhookID int64, from, to time.Time) (int, error) {
	var in api.Retry
	if !from.IsZero() {
		in.From = &from
	}
	if !to.IsZero() {
		in.To = &to
	}
	var out api.RetryResponse
	err := c.do(ctx, "POST", fmt.Sprintf("/api/v2/admin/webhooks/%d/retry", webhookID), in, &out)
	return out.Requeued, err
}

// RetryFailed re-queues every webhook's deliveries that failed for good
// with a last attempt in [since, until) (a zero until: now), and returns
// how many.
func (c *Client) RetryFailed(ctx context.Context, since, until time.Time) (int, error) {
	in := api.RetryFailed{Since: since}
	if !until.IsZero() {
		in.Until = &until
	}
	var out api.RetryResponse
	err := c.do(ctx, "POST", "/api/v2/admin/webhooks/retry_failed", in, &out)
	return out.Requeued, err
}

// StartReplay starts a replay of a webhook's events in the range of r; it
// runs in the background: watch it with Replay, stop it with CancelReplay.
func (c *Client) StartReplay(ctx context.Context, webhookID int64, r api.NewReplay) (*api.Replay, error) {
	return c.replay(ctx, "POST", fmt.Sprintf("/api/v2/admin/webhooks/%d/replays", webhookID), r)
}

// Replay reads a replay and its progress.
func (c *Client) Replay(ctx context.Context, webhookID, replayID int64) (*api.Replay, error) {
	return c.replay(ctx, "GET", fmt.Sprintf("/api/v2/admin/webhooks/%d/replays/%d", webhookID, replayID), nil)
}

// CancelReplay cancels a replay and returns it.
func (c *Client) CancelReplay(ctx context.Context, webhookID, replayID int64) (*api.Replay, error) {
	return c.replay(ctx, "DELETE", fmt.Sprintf("/api/v2/admin/webhooks/%d/replays/%d", webhookID, replayID), nil)
}

func (c *Client) replay(ctx context.Context, method, path string, in any) (*api.Replay, error) {
	var out api.ReplayResponse
	if err := c.do(ctx, method, path, in, &out); err != nil {
		return nil, err
	}
	return &out.Replay, nil
}

// Replays lists a webhook's latest replays, newest first.
func (c *Client) Replays(ctx context.Context, webhookID int64) ([]api.Replay, error) {
	var out api.ReplaysResponse
	if err := c.do(ctx, "GET", fmt.Sprintf("/api/v2/admin/webhooks/%d/replays", webhookID), nil, &out); err != nil {
		return nil, err
	}
	return out.Replays, nil
}

// CreateProject registers a project (without an ID, hookd makes one).
func (c *Client) CreateProject(ctx context.Context, p api.NewProject) (*api.Project, error) {
	var out api.ProjectResponse
	if err := c.do(ctx, "POST", "/api/v2/admin/projects", p, &out); err != nil {
		return nil, err
	}
	return &out.Project, nil
}
