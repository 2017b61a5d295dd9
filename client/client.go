// Package client is a Go client for hookd's API: publishers send events,
// admins manage webhooks and read their logs. The bodies it sends and reads
// are package api's, the types the server itself encodes.
//
//	c := client.New("http://127.0.0.1:8080", os.Getenv("HOOKD_API_KEY"))
//	ev, err := c.Publish(ctx, &api.Event{ID: client.NewEventID(), Event: "ASSET_ADDED", ProjectID: &project, Data: data})
//
// The client follows no redirect: hookd's API never redirects, and a
// redirect followed would carry the API key to wherever it points.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

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

// WithHTTPClient sends the requests with a copy of h (for its timeout,
// transport or cookie jar), made when New is called, instead of a client
// with a 30 s timeout. The copy follows no redirect, whatever h's
// CheckRedirect (h itself is left as it is): hookd's API never redirects,
// and following one, even to the same host, would send the API key in
// X-API-KEY to wherever it points, as Go strips only Authorization and
// Cookie. A redirect is an *Error with its status and Location instead. A
// nil h keeps the default client.
func WithHTTPClient(h *http.Client) Option {
	return func(c *Client) {
		if h == nil {
			return
		}
		cp := *h
		cp.CheckRedirect = refuseRedirect
		c.http = &cp
	}
}

// refuseRedirect makes an http.Client return a redirect as the answer
// instead of following it, so that send reports it.
func refuseRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// New returns a client of the hookd at baseURL (e.g. "http://127.0.0.1:8080").
func New(baseURL, apiKey string, opts ...Option) *Client {
	c := &Client{baseURL: strings.TrimSuffix(baseURL, "/"), apiKey: apiKey,
		http: &http.Client{Timeout: 30 * time.Second, CheckRedirect: refuseRedirect}}
	for _, opt := range opts {
		opt(c)
	}
	return c
}

// Error is an answer other than 200, with the API's message.
type Error struct {
	Status int
	// Message is the API's error message, or the body of an answer that is
	// not in the API's error shape, cut at about 64 KiB; for a redirect
	// (3xx), which the client does not follow, where it points.
	Message string
	// RetryAfter is how long the answer's Retry-After asks to wait before
	// trying again (hookd sends it with 429 and 503), from seconds or an
	// HTTP date; 0 without one, or with a date past.
	RetryAfter time.Duration
}

func (e *Error) Error() string { return fmt.Sprintf("hookd: %d %s", e.Status, e.Message) }

// The most of an answer that is read: a 200 answer past maxAnswer is
// refused as too large, an error's body is cut at maxErrorBody.
const (
	maxAnswer    = 64 << 20
	maxErrorBody = 64 << 10
)

// do sends in, encoded as JSON (nil for no body), and decodes a 200
// answer into out.
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	_, err := c.send(ctx, method, path, body, out)
	return err
}

// send sends body, JSON text (nil for none), decodes a 200 answer into out
// and returns the answer's headers.
func (c *Client) send(ctx context.Context, method, path string, body []byte, out any) (http.Header, error) {
	var reader io.Reader
	if body != nil {
		reader = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.baseURL+path, reader)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("X-API-KEY", c.apiKey)
	res, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, answerError(res)
	}
	data, err := io.ReadAll(io.LimitReader(res.Body, maxAnswer+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxAnswer {
		return nil, fmt.Errorf("hookd: answer too large: over %d MiB", maxAnswer>>20)
	}
	if out == nil {
		return res.Header, nil
	}
	return res.Header, json.Unmarshal(data, out)
}

// answerError reads an answer other than 200 (at most maxErrorBody of its
// body) into an *Error, or a read's error.
func answerError(res *http.Response) error {
	e := &Error{Status: res.StatusCode, RetryAfter: retryAfter(res.Header.Get("Retry-After"), time.Now())}
	if loc := res.Header.Get("Location"); loc != "" && res.StatusCode >= 300 && res.StatusCode < 400 {
		if u, err := res.Location(); err == nil {
			loc = u.String()
		}
		e.Message = "redirect to " + truncate(loc, 1024) + " not followed: hookd's API does not redirect (check the server's URL)"
		return e
	}
	data, err := io.ReadAll(io.LimitReader(res.Body, maxErrorBody+1))
	if err != nil {
		return err
	}
	var body api.Error
	if len(data) > maxErrorBody || json.Unmarshal(data, &body) != nil || body.Error == "" {
		body.Error = truncate(strings.TrimSpace(string(data)), maxErrorBody)
	}
	e.Message = body.Error
	return e
}

// truncate cuts s to about n bytes, on a UTF-8 boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "… (cut)"
}

// retryAfter reads a Retry-After value, seconds or an HTTP date, as a
// wait from now; 0 when absent, invalid or past.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, int64(time.Duration(1<<63-1)/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// NewEventID returns a new random event id in the form hookd gives its
// own ("evt_..."): give it to an event before its first publish, and send
// the event with it again until an answer of 200.
func NewEventID() string { return hookd.NewEventID() }

// PublishError is the error of Publish and PublishBatch once a request
// was sent: why it failed (an *Error, a *url.Error, the context's error;
// errors.As and errors.Is see through it) and the ID each event was sent
// with, the one it had or the one the client gave it. hookd may have stored
// the events even so (a timeout after it committed, say): sending them
// again with these IDs until an answer of 200 stores each once, the answer
// then showing the stored event with Duplicate. An event whose Data
// CheckData refuses fails before anything is sent, with CheckData's error
// instead: sending it again would not help.
type PublishError struct {
	IDs []string // in the order of the events
	Err error
}

func (e *PublishError) Error() string { return e.Err.Error() }
func (e *PublishError) Unwrap() error { return e.Err }

// Publish sends one event. It does not change e: an event without an ID is
// sent with a new random one (a new one each call, so that e can be
// filled again and published as another event), which the answer's ID
// and, on an error, the *PublishError's IDs give back. Its Data, if
// CheckData passes it, is sent as it is, byte for byte (numbers,
// whitespace, key order, escapes); a nil or empty Data is absent, {}.
//
// hookd may have stored an event whose publish returned an error (a
// timeout, say). To retry safely, send it again with the same ID until an
// answer of 200: the retry stores nothing and answers the stored event.
// The simplest is to give the event its ID before the first attempt (an
// id of your own, or NewEventID()); an event sent without one takes it
// from the *PublishError:
//
//	e := api.Event{ID: client.NewEventID(), Event: "ASSET_ADDED", Data: data}
//	published, err := c.Publish(ctx, &e)
//	for err != nil && retryable(err) { // not a 4xx *Error other than 429, say
//		time.Sleep(backoff)
//		published, err = c.Publish(ctx, &e)
//	}
func (c *Client) Publish(ctx context.Context, e *api.Event) (*api.PublishedEvent, error) {
	ev := *e
	fillID(&ev)
	body, err := appendEvent(nil, &ev)
	if err != nil {
		return nil, fmt.Errorf("hookd: %w; nothing was sent", err)
	}
	var out api.EventResponse
	if _, err := c.send(ctx, "POST", "/api/v2/events", body, &out); err != nil {
		return nil, &PublishError{IDs: []string{ev.ID}, Err: err}
	}
	return &out.Event, nil
}

// PublishBatch sends up to 1,000 events in one request and one
// transaction. It does not change events: as in Publish, an event without
// an ID is sent with a new one, given back in the answer, in order, or in
// the *PublishError's IDs; sending the events again with those IDs is
// safe. Each event's Data is sent as it is, as in Publish.
func (c *Client) PublishBatch(ctx context.Context, events []api.Event) ([]api.PublishedEvent, error) {
	ids := make([]string, len(events))
	body := []byte(`{"events":[`)
	for i, e := range events {
		fillID(&e)
		ids[i] = e.ID
		if i > 0 {
			body = append(body, ',')
		}
		var err error
		if body, err = appendEvent(body, &e); err != nil {
			return nil, fmt.Errorf("hookd: events[%d].%w; nothing was sent", i, err)
		}
	}
	body = append(body, "]}"...)
	var out api.EventsResponse
	if _, err := c.send(ctx, "POST", "/api/v2/events/batch", body, &out); err != nil {
		return nil, &PublishError{IDs: ids, Err: err}
	}
	return out.Events, nil
}

// appendEvent appends e to dst as an api.Event's JSON, its Data copied as
// it is: encoding/json would compact it and escape <, > and &, and the
// receiver is to get the publisher's bytes. An error names what CheckData
// refuses, or the text that is not valid UTF-8.
func appendEvent(dst []byte, e *api.Event) ([]byte, error) {
	if err := CheckData(e.Data); err != nil {
		return nil, err
	}
	// encoding/json would send invalid UTF-8 as U+FFFD: hookd, which
	// refuses it, would not see it, and two different ids would be taken
	// for one (the second answered as a duplicate of the first).
	switch {
	case !utf8.ValidString(e.ID):
		return nil, errors.New("id is not valid UTF-8")
	case !utf8.ValidString(e.Event):
		return nil, errors.New("event is not valid UTF-8")
	case e.ProjectID != nil && !utf8.ValidString(*e.ProjectID):
		return nil, errors.New("project_id is not valid UTF-8")
	}
	rest := *e
	rest.Data = nil // omitted: the object ends at its last byte
	b, err := json.Marshal(rest)
	if err != nil {
		return nil, err
	}
	if len(e.Data) == 0 { // absent is {}, as the API takes it
		return append(dst, b...), nil
	}
	dst = append(dst, b[:len(b)-1]...)
	dst = append(dst, `,"data":`...)
	dst = append(dst, e.Data...)
	return append(dst, '}'), nil
}

// MaxDataDepth is how deep arrays and objects may nest in an event's data,
// data itself counting as 1 (hookd.MaxDataDepth): deeper data would be
// refused by the intake.
const MaxDataDepth = hookd.MaxDataDepth

// CheckData refuses an event's data that hookd's intake would refuse (400
// or 422), or whose answer the client could not read, so that Publish,
// PublishBatch and client/outbox say so before sending anything: data must
// be valid UTF-8, nested at most MaxDataDepth deep, valid JSON and an
// object (surrounding whitespace aside), as hookd.CheckEventData checks. A
// nil or empty data is absent, {}, and passes. The error names data: the
// root's (errors.Is(err, hookd.ErrDataNotObject) for "data must be a JSON
// object"), but for data nested too deep, whose error says how deep it may.
func CheckData(data json.RawMessage) error {
	err := hookd.CheckEventData(data, MaxDataDepth)
	if errors.Is(err, hookd.ErrDataTooDeep) {
		return fmt.Errorf("data is nested deeper than %d levels, the most that fits in hookd's requests and answers", MaxDataDepth)
	}
	return err
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

// SuccessLog lists a webhook's successful attempts, newest first. page
// below 1 is the first, perPage below 1 is 25.
func (c *Client) SuccessLog(ctx context.Context, webhookID int64, page, perPage int) ([]api.LogEntry, error) {
	var out api.SuccessLogResponse
	err := c.do(ctx, "GET", fmt.Sprintf("/api/v2/admin/webhooks/%d/success?%s", webhookID, pageQuery(page, perPage)), nil, &out)
	return out.SuccessLog, err
}

// FailedLog lists a webhook's failed attempts, newest first, paged as
// SuccessLog.
func (c *Client) FailedLog(ctx context.Context, webhookID int64, page, perPage int) ([]api.LogEntry, error) {
	var out api.FailedLogResponse
	err := c.do(ctx, "GET", fmt.Sprintf("/api/v2/admin/webhooks/%d/failed?%s", webhookID, pageQuery(page, perPage)), nil, &out)
	return out.FailedLog, err
}

// pageValues are the parameters of a page of a list: page below 1 is the
// first, perPage below 1 is the API's default (25).
func pageValues(page, perPage int) url.Values {
	if perPage < 1 {
		perPage = hookd.DefaultPerPage
	}
	return url.Values{"page": {strconv.Itoa(max(page, 1))}, "per_page": {strconv.Itoa(perPage)}}
}

func pageQuery(page, perPage int) string { return pageValues(page, perPage).Encode() }

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
