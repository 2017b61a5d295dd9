package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/api"
	"github.com/hookd/hookd/client"
)

// TestClientReplaysAndFilters: the filter setting, replays and the bulk
// retry through the Go client.
func TestClientReplaysAndFilters(t *testing.T) {
	ctx := context.Background()
	admin, publisher := newClients(t)
	w, err := admin.CreateWebhook(ctx, api.NewWebhook{Name: "w", HTTPURL: "https://example.com/hook", HTTPMethod: "POST",
		TriggerEvents: []string{"ASSET_ADDED"}})
	if err != nil {
		t.Fatal(err)
	}
	set, err := admin.UpdateSettings(ctx, w.ID, map[string]any{"filter": `data.kind == "video"`})
	if err != nil || set.Filter == nil || *set.Filter != `data.kind == "video"` {
		t.Fatalf("filter: %+v, %v", set, err)
	}
	_, err = admin.UpdateSettings(ctx, w.ID, map[string]any{"filter": `data.kind ==`})
	var apiErr *client.Error
	if !errors.As(err, &apiErr) || apiErr.Status != 422 || !strings.Contains(apiErr.Message, "line 1, column 13: Syntax error") {
		t.Errorf("a bad filter: %v", err)
	}
	if _, err := publisher.Publish(ctx, &api.Event{Event: "ASSET_ADDED", Data: json.RawMessage(`{"kind":"video"}`)}); err != nil {
		t.Fatal(err)
	}

	r, err := admin.StartReplay(ctx, w.ID, api.NewReplay{Since: time.Now().Add(-time.Hour), IncludeSucceeded: true})
	// (Its Total may leave out the event: until is now, which may be the
	// millisecond the event was accepted in.)
	if err != nil || r.State != "running" || r.ID == 0 {
		t.Fatalf("StartReplay: %+v, %v", r, err)
	}
	if got, err := admin.Replay(ctx, w.ID, r.ID); err != nil || got.ID != r.ID {
		t.Errorf("Replay: %+v, %v", got, err)
	}
	if list, err := admin.Replays(ctx, w.ID); err != nil || len(list) != 1 {
		t.Errorf("Replays: %+v, %v", list, err)
	}
	if got, err := admin.CancelReplay(ctx, w.ID, r.ID); err != nil || got.State != "cancelled" {
		t.Errorf("CancelReplay: %+v, %v", got, err)
	}
	if n, err := admin.RetryFailed(ctx, time.Now().Add(-time.Hour), time.Time{}); err != nil || n != 0 {
		t.Errorf("RetryFailed: %d, %v", n, err)
	}
}
