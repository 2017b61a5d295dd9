package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/api"
	"github.com/hookd/hookd/client"
	hookdhttp "github.com/hookd/hookd/internal/http"
	"github.com/hookd/hookd/internal/sqlite"
	"github.com/hookd/hookd/internal/sqlite/sqlitetest"
)

// newClients starts hookd's API on 127.0.0.1 over a fresh SQLite store and
// returns an admin and a publisher client of it.
func newClients(t *testing.T, opts ...client.Option) (admin, publisher *client.Client) {
	t.Helper()
	h := newHookd(t, opts...)
	return h.admin, h.publisher
}

// testHookd is hookd's API on 127.0.0.1 over a fresh SQLite store, with an
// admin and a publisher client of it.
type testHookd struct {
	store            *sqlite.Store
	url              string
	publisherKey     string
	admin, publisher *client.Client
}

func newHookd(t *testing.T, opts ...client.Option) *testHookd {
	t.Helper()
	ctx := context.Background()
	store := sqlitetest.Open(t)
	srv := httptest.NewServer(hookdhttp.NewServer(store, slog.New(slog.NewTextHandler(io.Discard, nil))))
	t.Cleanup(srv.Close)
	adminKey, err := hookd.IssueAPIKey(ctx, store, hookd.DefaultUserID, "admin", hookd.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	publisherKey, err := hookd.IssueAPIKey(ctx, store, hookd.DefaultUserID, "publisher", hookd.RolePublisher)
	if err != nil {
		t.Fatal(err)
	}
	return &testHookd{store: store, url: srv.URL, publisherKey: publisherKey,
		admin: client.New(srv.URL+"/", adminKey, opts...), publisher: client.New(srv.URL, publisherKey, opts...)}
}

func TestClient(t *testing.T) {
	ctx := context.Background()
	admin, publisher := newClients(t)

	if p, err := admin.CreateProject(ctx, api.NewProject{ID: "P1", Title: "Project one"}); err != nil || p.ID != "P1" || p.Title != "Project one" {
		t.Fatalf("project %+v, %v", p, err)
	}
	if p, err := admin.CreateProject(ctx, api.NewProject{Title: "Named by hookd"}); err != nil || len(p.ID) != 20 {
		t.Errorf("project without an id: %+v, %v", p, err)
	}
	project := "P1"
	w, err := admin.CreateWebhook(ctx, api.NewWebhook{Name: "w", HTTPURL: "https://example.com/hook", HTTPMethod: "PUT",
		TriggerEvents: []string{"ASSET_ADDED"}, ProjectID: &project})
	if err != nil {
		t.Fatal(err)
	}
	if w.ID != 1 || w.HTTPMethod != "PUT" || *w.ProjectID != "P1" || w.CreatedAt.IsZero() || len(w.WebhookHeaders) != 0 {
		t.Errorf("created %+v", w)
	}
	h, err := admin.AddHeader(ctx, w.ID, api.NewHeader{HeaderKey: "Authorization", HeaderValue: "Bearer x", Hidden: true})
	if err != nil || h.HeaderValue == nil || *h.HeaderValue != "Bearer x" || !h.Hidden {
		t.Errorf("header %+v, %v", h, err)
	}
	if u, err := admin.AddUser(ctx, w.ID, 45); err != nil || u.UserID != 45 || u.WebhookID != w.ID {
		t.Errorf("user %+v, %v", u, err)
	}

	user := int64(45)
	e, err := publisher.Publish(ctx, &api.Event{ID: "e1", Event: "ASSET_ADDED", ProjectID: &project, UserID: &user, Data: json.RawMessage(`{"a":1}`)})
	if err != nil || e.ID != "e1" || e.Deliveries != 1 || e.Duplicate || string(e.Data) != `{"a":1}` {
		t.Errorf("published %+v, %v", e, err)
	}
	batch, err := publisher.PublishBatch(ctx, []api.Event{{ID: "e1", Event: "ASSET_ADDED"}, {Event: "ASSET_ADDED", ProjectID: &project}})
	if err != nil || len(batch) != 2 || !batch[0].Duplicate || batch[1].Deliveries != 0 {
		t.Errorf("batch %+v, %v", batch, err)
	}
	got, err := admin.Webhook(ctx, w.ID)
	if err != nil || got.QueueLength != 1 || got.WebhookHeaders[0].HeaderValue != nil || len(got.WebhookUsers) != 1 {
		t.Errorf("read back %+v, %v", got, err)
	}
	updated, err := admin.UpdateWebhook(ctx, w.ID, map[string]any{"project_id": nil, "name": "renamed"})
	if err != nil || updated.ProjectID != nil || updated.Name != "renamed" {
		t.Errorf("updated %+v, %v", updated, err)
	}

	secret, err := admin.Secret(ctx, w.ID)
	if err != nil || len(secret) < 10 {
		t.Errorf("secret %q, %v", secret, err)
	}
	if rotated, err := admin.RotateSecret(ctx, w.ID); err != nil || rotated == secret {
		t.Errorf("rotated %q, %v", rotated, err)
	}
	if logs, err := admin.SuccessLog(ctx, w.ID, 1, 10); err != nil || len(logs) != 0 {
		t.Errorf("success log %v, %v", logs, err)
	}
	if n, err := admin.Retry(ctx, w.ID, hookd.SystemClock.Now().Add(-1), hookd.SystemClock.Now()); err != nil || n != 0 {
		t.Errorf("retry %d, %v", n, err)
	}
	if test, err := admin.Test(ctx, w.ID); err != nil || test.Event != "ASSET_ADDED" || test.Deliveries != 1 {
		t.Errorf("test %+v, %v", test, err)
	}
}

// TestClientErrors checks that the API's answers other than 200 come back
// as *client.Error with the status and the API's message.
func TestClientErrors(t *testing.T) {
	ctx := context.Background()
	admin, publisher := newClients(t)
	cases := []struct {
		name   string
		err    error
		status int
		msg    string
	}{
		{"not admin", func() error { _, err := publisher.Webhook(ctx, 1); return err }(), 401, "Unauthorized"},
		{"not found", func() error { _, err := admin.Webhook(ctx, 7); return err }(), 404, "Couldn't find Webhook with 'id'=7"},
		{"invalid", func() error { _, err := publisher.Publish(ctx, &api.Event{Event: "NOPE"}); return err }(), 422, ""},
		{"bad project id", func() error { _, err := admin.CreateProject(ctx, api.NewProject{ID: "bad id", Title: "x"}); return err }(), 422, ""},
	}
	for _, c := range cases {
		var apiErr *client.Error
		if !errors.As(c.err, &apiErr) || apiErr.Status != c.status || (c.msg != "" && apiErr.Message != c.msg) {
			t.Errorf("%s: %v, want status %d %q", c.name, c.err, c.status, c.msg)
		}
	}
}

func TestClientSettings(t *testing.T) {
	ctx := context.Background()
	admin, publisher := newClients(t)
	w, err := admin.CreateWebhook(ctx, api.NewWebhook{Name: "w", HTTPURL: "https://example.com/hook", HTTPMethod: "POST",
		TriggerEvents: []string{"ASSET_ADDED"}})
	if err != nil {
		t.Fatal(err)
	}
	show := func(s *api.Settings) string {
		out := "in flight "
		if s.MaxInFlight == nil {
			out += "default"
		} else {
			out += fmt.Sprint(*s.MaxInFlight)
		}
		out += ", per second "
		if s.MaxPerSecond == nil {
			return out + "default"
		}
		return out + fmt.Sprint(*s.MaxPerSecond)
	}
	check := func(what string, s *api.Settings, err error, want string) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if got := show(s); got != want {
			t.Errorf("%s: %s, want %s", what, got, want)
		}
	}

	s, err := admin.Settings(ctx, w.ID)
	check("new webhook", s, err, "in flight default, per second default")
	s, err = admin.UpdateSettings(ctx, w.ID, map[string]any{"max_in_flight": 2, "max_per_second": 0.5})
	check("update both", s, err, "in flight 2, per second 0.5")
	s, err = admin.UpdateSettings(ctx, w.ID, map[string]any{"max_in_flight": nil})
	check("reset one", s, err, "in flight default, per second 0.5")
	s, err = admin.Settings(ctx, w.ID)
	check("read back", s, err, "in flight default, per second 0.5")

	_, err = admin.UpdateSettings(ctx, w.ID, map[string]any{"max_per_second": 0})
	var apiErr *client.Error
	if !errors.As(err, &apiErr) || apiErr.Status != 422 ||
		apiErr.Message != "Invalid parameter 'max_per_second' value 0: Must be a Number from 0.001 to 10000, or null for no cap" {
		t.Errorf("out of range: %v", err)
	}
	if _, err := admin.Settings(ctx, 99); !errors.As(err, &apiErr) || apiErr.Status != 404 {
		t.Errorf("unknown webhook: %v", err)
	}
	if _, err := publisher.Settings(ctx, w.ID); !errors.As(err, &apiErr) || apiErr.Status != 401 {
		t.Errorf("publisher: %v", err)
	}
}

// subscribe creates a webhook that receives ASSET_ADDED, so that each
// stored event shows as one delivery in its queue_length.
func subscribe(t *testing.T, admin *client.Client) (queueLength func() int) {
	t.Helper()
	ctx := context.Background()
	w, err := admin.CreateWebhook(ctx, api.NewWebhook{Name: "w", HTTPURL: "https://example.com/hook", HTTPMethod: "POST",
		TriggerEvents: []string{"ASSET_ADDED"}})
	if err != nil {
		t.Fatal(err)
	}
	return func() int {
		t.Helper()
		got, err := admin.Webhook(ctx, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got.QueueLength
	}
}

// Publish does not change the event: one value filled again and published
// in a loop is a new event each time, with its own id and data, not a
// duplicate of the first; the same goes for a batch's slice. An id given
// by the caller is the event's, and sending it again stores it once.
func TestPublishReusedEvent(t *testing.T) {
	ctx := context.Background()
	admin, publisher := newClients(t)
	queueLength := subscribe(t, admin)

	var e api.Event
	seen := map[string]bool{}
	for i := range 3 {
		e.Event, e.Data = "ASSET_ADDED", json.RawMessage(fmt.Sprintf(`{"n":%d}`, i))
		got, err := publisher.Publish(ctx, &e)
		if err != nil || got.Duplicate || string(got.Data) != string(e.Data) || !strings.HasPrefix(got.ID, "evt_") || seen[got.ID] {
			t.Fatalf("publish %d: %+v, %v; want a new event with its data", i, got, err)
		}
		seen[got.ID] = true
		if e.ID != "" {
			t.Errorf("publish %d wrote the id %q into the caller's event", i, e.ID)
		}
	}

	batch := []api.Event{{Event: "ASSET_ADDED"}, {ID: "mine", Event: "ASSET_ADDED"}}
	out, err := publisher.PublishBatch(ctx, batch)
	if err != nil || !strings.HasPrefix(out[0].ID, "evt_") || out[1].ID != "mine" || out[0].Duplicate || out[1].Duplicate || batch[0].ID != "" {
		t.Fatalf("batch: %+v, %v; the slice %+v", out, err, batch)
	}
	again, err := publisher.PublishBatch(ctx, batch)
	if err != nil || again[0].Duplicate || again[0].ID == out[0].ID || !again[1].Duplicate {
		t.Errorf("the same slice again: %+v, %v; want a new event and a duplicate of mine", again, err)
	}
	if n := queueLength(); n != 6 {
		t.Errorf("%d deliveries queued, want 6 (one per distinct event)", n)
	}
}

// TestClientErase erases an event, a project's and a user's events.
func TestClientErase(t *testing.T) {
	ctx := context.Background()
	admin, publisher := newClients(t)
	queueLength := subscribe(t, admin)
	project, user := "P1", int64(7)
	for _, e := range []api.Event{{ID: "a", Event: "ASSET_ADDED"}, {ID: "b", Event: "ASSET_ADDED", ProjectID: &project},
		{ID: "c", Event: "ASSET_ADDED", UserID: &user}} {
		if _, err := publisher.Publish(ctx, &e); err != nil {
			t.Fatal(err)
		}
	}
	for name, erase := range map[string]func() (*api.Erased, error){
		"event":   func() (*api.Erased, error) { return admin.EraseEvent(ctx, "a") },
		"project": func() (*api.Erased, error) { return admin.EraseProject(ctx, project) },
		"user":    func() (*api.Erased, error) { return admin.EraseUser(ctx, user) },
	} {
		if got, err := erase(); err != nil || *got != (api.Erased{Events: 1, CancelledDeliveries: 1}) {
			t.Errorf("erase %s: %+v, %v", name, got, err)
		}
	}
	if n := queueLength(); n != 0 {
		t.Errorf("%d deliveries left queued", n)
	}
	var apiErr *client.Error
	if _, err := admin.EraseEvent(ctx, "no/such event"); !errors.As(err, &apiErr) || apiErr.Status != 404 {
		t.Errorf("erasing an unknown event: %v", err)
	}
}

// lostAnswer is a transport that, when told to, lets a request reach the
// server but loses its answer, as when a publisher times out after hookd
// stored the event.
type lostAnswer struct{ loseNext atomic.Bool }

func (l *lostAnswer) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil || !l.loseNext.CompareAndSwap(true, false) {
		return res, err
	}
	res.Body.Close()
	return nil, context.DeadlineExceeded
}

// A publisher that retries after a timeout with the same id does not store
// the event twice: an id it gave before the first attempt, or the one the
// client gave and the *PublishError tells, for a single event and a batch.
func TestPublishRetryAfterTimeoutStoresOnce(t *testing.T) {
	ctx := context.Background()
	transport := &lostAnswer{}
	admin, publisher := newClients(t, client.WithHTTPClient(&http.Client{Transport: transport}))
	queueLength := subscribe(t, admin)
	queued := 0
	lose := func(what string, publish func() error) *client.PublishError {
		t.Helper()
		transport.loseNext.Store(true)
		err := publish()
		var failed *client.PublishError
		if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &failed) {
			t.Fatalf("%s with its answer lost: %v, want a timeout in a *PublishError", what, err)
		}
		queued++
		if n := queueLength(); n != queued {
			t.Fatalf("%d deliveries queued after the lost answer, want %d: the event reached hookd", n, queued)
		}
		return failed
	}

	// The documented pattern: the id first, then publish until a 200.
	e := api.Event{ID: client.NewEventID(), Event: "ASSET_ADDED", Data: json.RawMessage(`{"n":1}`)}
	failed := lose("publish", func() error { _, err := publisher.Publish(ctx, &e); return err })
	if len(failed.IDs) != 1 || failed.IDs[0] != e.ID {
		t.Errorf("the error's ids %q, want %q", failed.IDs, e.ID)
	}
	retried, err := publisher.Publish(ctx, &e)
	if err != nil || retried.ID != e.ID || !retried.Duplicate {
		t.Errorf("retry: %+v, %v; want the stored event, a duplicate", retried, err)
	}

	// Without an id: the error tells the one the client gave.
	e = api.Event{Event: "ASSET_ADDED", Data: json.RawMessage(`{"n":2}`)}
	failed = lose("publish without an id", func() error { _, err := publisher.Publish(ctx, &e); return err })
	if len(failed.IDs) != 1 || !strings.HasPrefix(failed.IDs[0], "evt_") || e.ID != "" {
		t.Fatalf("the error's ids %q, the event's %q", failed.IDs, e.ID)
	}
	e.ID = failed.IDs[0]
	if retried, err := publisher.Publish(ctx, &e); err != nil || retried.ID != e.ID || !retried.Duplicate || string(retried.Data) != `{"n":2}` {
		t.Errorf("retry with the error's id: %+v, %v; want the stored event, a duplicate", retried, err)
	}

	batch := []api.Event{{Event: "ASSET_ADDED"}, {ID: "mine", Event: "ASSET_ADDED"}}
	queued++ // two events, the first lose counts one
	failed = lose("batch", func() error { _, err := publisher.PublishBatch(ctx, batch); return err })
	if len(failed.IDs) != 2 || !strings.HasPrefix(failed.IDs[0], "evt_") || failed.IDs[1] != "mine" {
		t.Fatalf("the batch error's ids %q", failed.IDs)
	}
	batch[0].ID = failed.IDs[0]
	if out, err := publisher.PublishBatch(ctx, batch); err != nil || !out[0].Duplicate || !out[1].Duplicate {
		t.Errorf("the batch again with the error's ids: %+v, %v; want duplicates", out, err)
	}
	if n := queueLength(); n != queued {
		t.Errorf("%d deliveries queued after the retries, want %d", n, queued)
	}
}
