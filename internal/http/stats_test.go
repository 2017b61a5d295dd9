package http_test

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/api"
	"github.com/hookd/hookd/internal/clocktest"
)

// attempt claims every due delivery at the clock's time and records each
// as ok says (a failure schedules a retry a minute later when retry).
func attempt(t *testing.T, store hookd.Store, clock *clocktest.Clock, ok, retry bool) []*hookd.Delivery {
	t.Helper()
	c, err := store.Claim(context.Background(), hookd.ClaimRequest{Worker: "t", Limit: 100, Lease: time.Minute, Workers: 4})
	if err != nil {
		t.Fatal(err)
	}
	var results []hookd.AttemptResult
	for _, d := range c.Deliveries {
		r := hookd.AttemptResult{DeliveryID: d.ID, WebhookID: d.WebhookID, Attempt: d.Attempts + 1, At: clock.Now(),
			Success: ok, HTTPStatus: 200, RequestHeaders: map[string]string{
				"Content-Type": "application/json", "webhook-id": d.MessageID, "webhook-signature": "********", "X-Secret": "********"}}
		if !ok {
			r.HTTPStatus, r.ErrorClass, r.Error = 500, hookd.ClassStatus, "HTTP 500"
			if retry {
				next := clock.Now().Add(time.Minute)
				r.NextAttemptAt = &next
			}
		}
		results = append(results, r)
	}
	if err := store.Complete(context.Background(), results); err != nil {
		t.Fatal(err)
	}
	return c.Deliveries
}

// TestStatsAndDeliveries checks the stats (exact counts in the buckets of
// the hour and of the day) and the logs by delivery with the curl command.
func TestStatsAndDeliveries(t *testing.T) {
	start := time.Date(2030, 1, 2, 10, 30, 15, 0, time.UTC)
	clock := clocktest.New(start)
	a := clockedAPI(t, clock)
	id := a.createWebhook(t, `{"name":"w","http_url":"https://r.example/in?x='1'","http_method":"POST","trigger_events":["ASSET_ADDED"]}`)

	// Two hours ago: a success. Now: one failure that will be retried, then
	// the retry succeeds a minute later.
	clock.Set(start.Add(-2 * time.Hour))
	a.publish(t, a.adminKey, `{"event":"ASSET_ADDED","data":{"n":1}}`)
	attempt(t, a.store, clock, true, false)
	clock.Set(start)
	ev := a.publish(t, a.adminKey, `{"event":"ASSET_ADDED","data":{"note":"it's $(id)"}}`)
	ds := attempt(t, a.store, clock, false, true)
	clock.Advance(time.Minute)
	attempt(t, a.store, clock, true, false)
	now := clock.Now()

	var ws api.WebhookStatsResponse
	res := a.do("GET", fmt.Sprintf("/api/v2/admin/webhooks/%d/stats", id), a.adminKey, "")
	expect(t, res, 200, "")
	mustJSON(t, res.body, &ws)
	hour, day := ws.Stats.LastHour, ws.Stats.LastDay
	if len(hour.Succeeded) != 60 || len(day.Succeeded) != 24 || hour.BucketSeconds != 60 || day.BucketSeconds != 3600 {
		t.Fatalf("buckets: hour %d×%d s, day %d×%d s", len(hour.Succeeded), hour.BucketSeconds, len(day.Succeeded), day.BucketSeconds)
	}
	if hour.Failed[58] != 1 || hour.Succeeded[59] != 1 || hour.TotalSucceeded != 1 || hour.TotalFailed != 1 {
		t.Errorf("last hour: %+v", hour)
	}
	if day.Succeeded[23] != 1 || day.Failed[23] != 1 || day.Succeeded[21] != 1 || day.TotalSucceeded != 2 {
		t.Errorf("last day: %+v", day)
	}
	if !hour.From.Equal(now.Truncate(time.Minute).Add(-59*time.Minute)) || !day.From.Equal(now.Truncate(time.Hour).Add(-23*time.Hour)) {
		t.Errorf("windows from %s and %s at %s", hour.From, day.From, now)
	}

	var all api.StatsResponse
	res = a.do("GET", "/api/v2/admin/webhooks/stats", a.adminKey, "")
	expect(t, res, 200, "")
	mustJSON(t, res.body, &all)
	if all.Stats.LastDay.TotalSucceeded != 2 || all.Stats.LastDay.TotalFailed != 1 || all.Stats.Webhooks.Enabled != 1 {
		t.Errorf("global stats: %s", res.body)
	}

	// The logs by delivery: the retried one first, with both attempts.
	var list api.DeliveriesResponse
	res = a.do("GET", fmt.Sprintf("/api/v2/admin/webhooks/%d/deliveries?state=succeeded,failed", id), a.adminKey, "")
	expect(t, res, 200, "")
	mustJSON(t, res.body, &list)
	if len(list.Deliveries) != 2 || list.Deliveries[0].ID != ds[0].ID || len(list.Deliveries[0].Attempts) != 2 ||
		list.Deliveries[0].State != "succeeded" || list.Deliveries[0].EventID != ev.ID {
		t.Fatalf("deliveries: %s", res.body)
	}

	var one api.DeliveryResponse
	res = a.do("GET", fmt.Sprintf("/api/v2/admin/webhooks/%d/deliveries/%d", id, ds[0].ID), a.adminKey, "")
	expect(t, res, 200, "")
	mustJSON(t, res.body, &one)
	if !strings.Contains(string(one.Payload), `"data":{"note":"it's $(id)"}`) {
		t.Errorf("payload: %s", one.Payload)
	}
	if strings.Contains(one.Curl, "whsec_") || !strings.Contains(one.Curl, "webhook-signature: v1,<signature") {
		t.Errorf("curl:\n%s", one.Curl)
	}
	if sh, err := exec.LookPath("sh"); err == nil {
		// The shell hands curl the payload byte for byte.
		out, err := exec.Command(sh, "-c", `curl() { while [ "$1" != --data-raw ]; do shift; done; printf %s "$2"; }; `+one.Curl).Output()
		if err != nil || string(out) != string(one.Payload) {
			t.Errorf("the command's body: %q (%v), want %q", out, err, one.Payload)
		}
	}

	a.run(t, []step{
		{"deliveries: no state", "GET", fmt.Sprintf("/api/v2/admin/webhooks/%d/deliveries", id), "admin", "", 422,
			`{"error":"Missing parameter state"}`},
		{"deliveries: bad state", "GET", fmt.Sprintf("/api/v2/admin/webhooks/%d/deliveries?state=lost", id), "admin", "", 422,
			`{"error":"Invalid parameter 'state' value \"lost\": Must be a comma-separated list of: succeeded, failed, pending"}`},
		{"deliveries: unknown webhook", "GET", "/api/v2/admin/webhooks/99/deliveries?state=failed", "admin", "", 404,
			`{"error":"Couldn't find Webhook with 'id'=99"}`},
		{"delivery: unknown", "GET", fmt.Sprintf("/api/v2/admin/webhooks/%d/deliveries/x", id), "admin", "", 404,
			`{"error":"Couldn't find Delivery with 'id'=x"}`},
		{"stats: unknown webhook", "GET", "/api/v2/admin/webhooks/-1/stats", "admin", "", 404,
			`{"error":"Couldn't find Webhook with 'id'=-1"}`},
		{"stats: not admin", "GET", "/api/v2/admin/webhooks/stats", "publisher", "", 401, `{"error":"Unauthorized"}`},
		// Only GET is the literal path: the others are still a webhook id.
		{"POST webhooks/stats", "POST", "/api/v2/admin/webhooks/stats", "admin", `{}`, 404,
			`{"error":"Couldn't find Webhook with 'id'=stats"}`},
		{"DELETE webhooks/stats", "DELETE", "/api/v2/admin/webhooks/stats", "admin", "", 404,
			`{"error":"Couldn't find Webhook with 'id'=stats"}`},
	})
}
