package client_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hookd/hookd/api"
	"github.com/hookd/hookd/client"
)

// TestClientOrdering sets, reads and resets a webhook's ordering through
// the client, and reads the API's error for a bad one.
func TestClientOrdering(t *testing.T) {
	ctx := context.Background()
	admin, _ := newClients(t)
	w, err := admin.CreateWebhook(ctx, api.NewWebhook{Name: "w", HTTPURL: "https://example.com/hook", HTTPMethod: "POST",
		TriggerEvents: []string{"ASSET_ADDED"}})
	if err != nil {
		t.Fatal(err)
	}
	ordering := func(what string, s *api.Settings, err error, want string) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		got := "null"
		if s.Ordering != nil {
			got = *s.Ordering
		}
		if got != want {
			t.Errorf("%s: ordering %s, want %s", what, got, want)
		}
	}
	s, err := admin.Settings(ctx, w.ID)
	ordering("new webhook", s, err, "null")
	s, err = admin.UpdateSettings(ctx, w.ID, map[string]any{"ordering": "data.order.id"})
	ordering("set", s, err, "data.order.id")
	s, err = admin.Settings(ctx, w.ID)
	ordering("read back", s, err, "data.order.id")
	s, err = admin.UpdateSettings(ctx, w.ID, map[string]any{"ordering": nil})
	ordering("reset", s, err, "null")

	_, err = admin.UpdateSettings(ctx, w.ID, map[string]any{"ordering": "data"})
	var apiErr *client.Error
	if !errors.As(err, &apiErr) || apiErr.Status != 422 ||
		!strings.HasPrefix(apiErr.Message, `Invalid parameter 'ordering' value "data": Must be one of "webhook", "project_id"`) {
		t.Errorf("a bad ordering: %v", err)
	}
}
