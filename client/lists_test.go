package client_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/hookd/hookd/api"
	"github.com/hookd/hookd/client"
)

// TestClientListsAndStats pages and searches the webhooks, and reads the
// stats and a delivery with its curl command.
func TestClientListsAndStats(t *testing.T) {
	ctx := context.Background()
	admin, publisher := newClients(t)
	var last *api.Webhook
	for i := range 5 {
		w, err := admin.CreateWebhook(ctx, api.NewWebhook{Name: fmt.Sprintf("hook %d", i), HTTPURL: "http://127.0.0.1:9/h",
			HTTPMethod: "POST", TriggerEvents: []string{"ASSET_ADDED"}})
		if err != nil {
			t.Fatal(err)
		}
		last = w
	}
	page, err := admin.ListWebhooks(ctx, client.WebhookQuery{Sort: "-id", PerPage: 2, Page: 2})
	if err != nil || page.Total != 5 || len(page.Webhooks) != 2 || page.Webhooks[0].ID != last.ID-2 {
		t.Fatalf("page 2: %+v, %v", page, err)
	}
	page, err = admin.ListWebhooks(ctx, client.WebhookQuery{Search: "HOOK 4"})
	if err != nil || page.Total != 1 || page.Webhooks[0].ID != last.ID {
		t.Fatalf("search: %+v, %v", page, err)
	}
	if _, err := admin.ListWebhooks(ctx, client.WebhookQuery{Sort: "url"}); err == nil || !strings.Contains(err.Error(), "Invalid parameter 'sort'") {
		t.Errorf("a bad sort: %v", err)
	}

	stats, err := admin.Stats(ctx)
	if err != nil || stats.Webhooks.Enabled != 5 || len(stats.LastHour.Succeeded) != 60 {
		t.Fatalf("stats: %+v, %v", stats, err)
	}
	if _, err := publisher.Stats(ctx); err == nil {
		t.Error("a publisher key reads the stats")
	}
	ws, err := admin.WebhookStats(ctx, last.ID)
	if err != nil || len(ws.LastDay.Failed) != 24 {
		t.Fatalf("webhook stats: %+v, %v", ws, err)
	}
	ds, err := admin.Deliveries(ctx, last.ID, []string{"failed", "pending"}, 1, 10)
	if err != nil || len(ds) != 0 {
		t.Fatalf("deliveries: %+v, %v", ds, err)
	}
	if c, err := admin.ProbeCircuit(ctx, last.ID); err != nil || c.State != "closed" {
		t.Errorf("probing a closed circuit: %+v, %v", c, err)
	}
	if _, err := admin.Delivery(ctx, last.ID, 12345); err == nil || !strings.Contains(err.Error(), "Couldn't find Delivery") {
		t.Errorf("an unknown delivery: %v", err)
	}
}
