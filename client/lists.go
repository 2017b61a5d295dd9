package client

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/api"
)

// WebhookQuery searches, sorts and pages the webhook list; its zero value
// asks for the first page of every webhook by id.
type WebhookQuery struct {
	Search    string // in names and URLs, or an id
	Sort      string // id, name, created_at, last_run_at; "-name" is descending
	ProjectID string // only this project's webhooks
	NoProject bool   // only the webhooks of no project
	Health    string // "failing" or "circuit_open": only the webhooks in that trouble
	Disabled  *bool
	Page      int // 1-based; below 1 is 1
	PerPage   int // 1 to 100; below 1 is 25
}

// WebhookPage is a page of the webhook list and how many webhooks pass the
// query in all.
type WebhookPage struct {
	Webhooks []api.Webhook
	Total    int
}

// ListWebhooks reads a page of the webhooks that pass q.
func (c *Client) ListWebhooks(ctx context.Context, q WebhookQuery) (*WebhookPage, error) {
	v := url.Values{}
	if q.Search != "" {
		v.Set("q", q.Search)
	}
	if q.Sort != "" {
		v.Set("sort", q.Sort)
	}
	if q.ProjectID != "" {
		v.Set("project_id", q.ProjectID)
	}
	if q.Health != "" {
		v.Set("health", q.Health)
	}
	if q.NoProject {
		v.Set("no_project", "true")
	}
	if q.Disabled != nil {
		v.Set("disabled", strconv.FormatBool(*q.Disabled))
	}
	for key, values := range pageValues(q.Page, q.PerPage) {
		v[key] = values
	}
	var out api.WebhooksResponse
	header, err := c.send(ctx, "GET", "/api/v2/admin/webhooks?"+v.Encode(), nil, &out)
	if err != nil {
		return nil, err
	}
	total, err := strconv.Atoi(header.Get("X-Total-Count"))
	if err != nil {
		return nil, fmt.Errorf("hookd: the list has no X-Total-Count (%q)", header.Get("X-Total-Count"))
	}
	return &WebhookPage{Webhooks: out.Webhooks, Total: total}, nil
}

// Deliveries reads a page of a webhook's deliveries in states ("succeeded",
// "failed", "pending"; none: every state), latest attempt first, each with
// its attempts. page below 1 is the first, perPage below 1 is 25.
func (c *Client) Deliveries(ctx context.Context, webhookID int64, states []string, page, perPage int) ([]api.Delivery, error) {
	if len(states) == 0 { // the API requires state: ask for them all
		states = make([]string, len(hookd.DeliveryStates))
		for i, s := range hookd.DeliveryStates {
			states[i] = string(s)
		}
	}
	var out api.DeliveriesResponse
	err := c.do(ctx, "GET", fmt.Sprintf("/api/v2/admin/webhooks/%d/deliveries?state=%s&%s",
		webhookID, url.QueryEscape(strings.Join(states, ",")), pageQuery(page, perPage)), nil, &out)
	return out.Deliveries, err
}

// Delivery reads one delivery of a webhook with the body it sends and a
// curl command (without the secret) that sends the same request.
func (c *Client) Delivery(ctx context.Context, webhookID, deliveryID int64) (*api.DeliveryResponse, error) {
	var out api.DeliveryResponse
	if err := c.do(ctx, "GET", fmt.Sprintf("/api/v2/admin/webhooks/%d/deliveries/%d", webhookID, deliveryID), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Stats reads the whole service's figures: attempts over the last hour and
// day, the queues and the webhooks by health.
func (c *Client) Stats(ctx context.Context) (*api.Stats, error) {
	var out api.StatsResponse
	if err := c.do(ctx, "GET", "/api/v2/admin/webhooks/stats", nil, &out); err != nil {
		return nil, err
	}
	return &out.Stats, nil
}

// WebhookStats reads one webhook's attempts over the last hour and day and
// its queues.
func (c *Client) WebhookStats(ctx context.Context, webhookID int64) (*api.WebhookStats, error) {
	var out api.WebhookStatsResponse
	if err := c.do(ctx, "GET", fmt.Sprintf("/api/v2/admin/webhooks/%d/stats", webhookID), nil, &out); err != nil {
		return nil, err
	}
	return &out.Stats, nil
}

// ProbeCircuit makes a webhook's open circuit send its probe now, and
// returns the circuit as that leaves it.
func (c *Client) ProbeCircuit(ctx context.Context, webhookID int64) (*api.Circuit, error) {
	var out api.CircuitResponse
	if err := c.do(ctx, "POST", fmt.Sprintf("/api/v2/admin/webhooks/%d/circuit/probe", webhookID), nil, &out); err != nil {
		return nil, err
	}
	return &out.Circuit, nil
}
