package client_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
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

// Deliveries without states lists every state: the API requires state.
func TestDeliveriesEveryState(t *testing.T) {
	ctx := context.Background()
	admin, _ := newClients(t)
	w, err := admin.CreateWebhook(ctx, api.NewWebhook{Name: "w", HTTPURL: "http://127.0.0.1:9/h", HTTPMethod: "POST",
		TriggerEvents: []string{"ASSET_ADDED"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, states := range [][]string{nil, {}} {
		if ds, err := admin.Deliveries(ctx, w.ID, states, 0, 0); err != nil || len(ds) != 0 {
			t.Errorf("deliveries in states %#v: %+v, %v", states, ds, err)
		}
	}
}

// A page size of 0 is the API's default, 25, for every list; a page of 0
// is the first.
func TestPageDefaults(t *testing.T) {
	var query atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		query.Store(r.URL.Query())
		w.Header().Set("X-Total-Count", "0")
		w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	ctx := context.Background()
	c := client.New(srv.URL, "prefix.secret")
	for name, list := range map[string]func() error{
		"SuccessLog":      func() error { _, err := c.SuccessLog(ctx, 1, 0, 0); return err },
		"FailedLog":       func() error { _, err := c.FailedLog(ctx, 1, 0, 0); return err },
		"NotificationLog": func() error { _, err := c.NotificationLog(ctx, 1, true, 0, 0); return err },
		"Deliveries":      func() error { _, err := c.Deliveries(ctx, 1, []string{"failed"}, 0, 0); return err },
		"ListWebhooks":    func() error { _, err := c.ListWebhooks(ctx, client.WebhookQuery{}); return err },
	} {
		if err := list(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		q := query.Load().(url.Values)
		if q.Get("per_page") != "25" || q.Get("page") != "1" {
			t.Errorf("%s asked for page %q of %q, want page 1 of 25", name, q.Get("page"), q.Get("per_page"))
		}
	}
}
