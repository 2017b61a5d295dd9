package http_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/api"
	"github.com/hookd/hookd/internal/clocktest"
	hookdhttp "github.com/hookd/hookd/internal/http"
	"github.com/hookd/hookd/internal/storeopt"
)

// TestFilterSetting sets, reads and refuses payload filters through the
// settings sub-resource; a refused one leaves the settings as they were.
func TestFilterSetting(t *testing.T) {
	backends(t, func(t *testing.T, store hookd.Store) {
		a := newTestAPI(t, store)
		id := a.createWebhook(t, seedBody+"}")
		path := fmt.Sprintf("/api/v2/admin/webhooks/%d/settings", id)
		filter := `data.kind == "video" && user_id != null`
		set := fmt.Sprintf(`{"settings":{"max_in_flight":null,"max_per_second":null,"filter":%q,"ordering":null}}`, filter)
		a.run(t, []step{
			{"set a filter", "POST", path, "admin", set, 200, set},
			{"read it back", "GET", path, "admin", "", 200, set},
		})
		rule := "Must be a CEL expression over event, project_id, user_id and data, true for the events to deliver: "
		long := `event == "` + strings.Repeat("x", hookd.MaxFilterLength) + `"`
		for _, c := range []struct{ name, body, want string }{
			{"not a string", `{"settings":{"filter":1}}`, `Invalid parameter 'filter' value 1: Must be a String`},
			{"an unknown variable", `{"settings":{"filter":"evnt == \"A\""}}`,
				`Invalid parameter 'filter' value "evnt == \"A\"": ` + rule + `line 1, column 1: undeclared reference to 'evnt' (in container '')`},
			{"a syntax error on line 2", `{"settings":{"filter":"event == \"A\" &&\n  (user_id == 1"}}`,
				`Invalid parameter 'filter' value "event == \"A\" &&\n  (user_id == 1": ` + rule + `line 2, column 16: Syntax error: missing ')' at '<EOF>'`},
			{"not a bool", `{"settings":{"filter":"event"}}`,
				`Invalid parameter 'filter' value "event": ` + rule + `line 1, column 1: the filter is of type string: it must be a bool`},
			{"a type error", `{"settings":{"filter":"user_id == \"7\""}}`,
				`Invalid parameter 'filter' value "user_id == \"7\"": ` + rule + `line 1, column 9: found no matching overload for '_==_' applied to '(wrapper(int), string)'`},
			{"too long", fmt.Sprintf(`{"settings":{"filter":%q}}`, long),
				fmt.Sprintf(`...: %sthe filter is %d bytes long: the limit is %d`, rule, len(long), hookd.MaxFilterLength)},
			{"empty", `{"settings":{"filter":" "}}`, `Invalid parameter 'filter' value " ": ` + rule + `the filter is empty (no filter is null)`},
		} {
			t.Run(c.name, func(t *testing.T) {
				res := a.do("POST", path, a.adminKey, c.body)
				expect(t, res, 422, "")
				var e api.Error
				json.Unmarshal(res.body, &e)
				// A long value is cut short in the error: its end is compared.
				if !strings.HasSuffix(e.Error, c.want) || !strings.HasPrefix(e.Error, "Invalid parameter 'filter' value ") {
					t.Errorf("error\n got: %s\nwant: %s", e.Error, c.want)
				}
				expect(t, a.do("GET", path, a.adminKey, ""), 200, set)
			})
		}
		// The filter applies to the intake: an event it refuses makes no
		// delivery.
		if e := a.publish(t, a.publisher, `{"event":"ASSET_ADDED","user_id":1,"data":{"kind":"video"}}`); e.Deliveries != 1 {
			t.Errorf("a video: %d deliveries, want 1", e.Deliveries)
		}
		if e := a.publish(t, a.publisher, `{"event":"ASSET_ADDED","user_id":1,"data":{"kind":"image"}}`); e.Deliveries != 0 {
			t.Errorf("an image: %d deliveries, want 0", e.Deliveries)
		}
		a.run(t, []step{{"null removes it", "POST", path, "admin", `{"settings":{"filter":null}}`, 200,
			`{"settings":{"max_in_flight":null,"max_per_second":null,"filter":null,"ordering":null}}`}})
		if e := a.publish(t, a.publisher, `{"event":"ASSET_ADDED","data":{"kind":"image"}}`); e.Deliveries != 1 {
			t.Errorf("without a filter: %d deliveries, want 1", e.Deliveries)
		}
	})
}

// TestReplayAPI walks the replays sub-resource: bad input, the retention
// window, progress, one running replay per webhook, and cancel.
func TestReplayAPI(t *testing.T) {
	start := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := clocktest.New(start)
	backendsWith(t, []storeopt.Option{storeopt.WithClock(clock)}, func(t *testing.T, store hookd.Store) {
		clock.Set(start)
		told := &toldReplays{}
		a := newTestAPI(t, store, hookdhttp.WithClock(clock), hookdhttp.WithRetention(24*time.Hour),
			hookdhttp.WithReplayObserver(told))
		// Events accepted before the webhooks existed: a replay sends them.
		for range 3 {
			a.publish(t, a.publisher, `{"event":"ASSET_ADDED"}`)
		}
		id := a.createWebhook(t, seedBody+"}")
		other := a.createWebhook(t, seedBody+"}")
		clock.Advance(time.Minute)
		path := fmt.Sprintf("/api/v2/admin/webhooks/%d/replays", id)
		shown := func(t time.Time) string { return t.UTC().Format(hookd.TimeLayout) }
		since, now := shown(start.Add(-time.Hour)), shown(clock.Now())
		tooOld := "2029-12-31T00:00:00+02:00"
		rangeRule := "Must be a range of time: since before until (until defaults to now)"
		timeRule := "Must be a time in RFC 3339 format, e.g. 2023-11-27T09:42:39.937Z"
		a.run(t, []step{
			{"no since", "POST", path, "admin", `{}`, 422, `{"error":"Missing parameter since"}`},
			{"since not a time", "POST", path, "admin", `{"since":"yesterday"}`, 422,
				`{"error":"Invalid parameter 'since' value \"yesterday\": ` + timeRule + `"}`},
			{"until not a time", "POST", path, "admin", `{"since":"` + since + `","until":12}`, 422,
				`{"error":"Invalid parameter 'until' value 12: Must be a String"}`},
			{"since after until", "POST", path, "admin", `{"since":"` + since + `","until":"2030-01-02T04:04:05+03:00"}`, 422,
				`{"error":"Invalid parameter 'until' value \"2030-01-02T04:04:05+03:00\": ` + rangeRule + `"}`},
			{"since in the future", "POST", path, "admin", `{"since":"2031-01-01T00:00:00Z"}`, 422,
				`{"error":"Invalid parameter 'since' value \"2031-01-01T00:00:00Z\": ` + rangeRule + `"}`},
			{"since beyond retention", "POST", path, "admin", `{"since":"` + tooOld + `"}`, 422,
				`{"error":"Invalid parameter 'since' value \"` + tooOld + `\": Must be within the retention window (--retention 24h0m0s): events accepted before ` +
					shown(clock.Now().Add(-24*time.Hour)) + ` are pruned and cannot be replayed"}`},
			{"include_succeeded not a boolean", "POST", path, "admin", `{"since":"` + since + `","include_succeeded":"yes"}`, 422,
				`{"error":"Invalid parameter 'include_succeeded' value \"yes\": Must be one of: true, false, 1, 0"}`},
			{"not an object", "POST", path, "admin", `["since"]`, 400, ""},
			{"not admin", "POST", path, "publisher", `{"since":"` + since + `"}`, 401, `{"error":"Unauthorized"}`},
			{"unknown webhook", "POST", "/api/v2/admin/webhooks/99/replays", "admin", `{"since":"` + since + `"}`, 404,
				`{"error":"Couldn't find Webhook with 'id'=99"}`},
			{"list of an unknown webhook", "GET", "/api/v2/admin/webhooks/99/replays", "admin", "", 404,
				`{"error":"Couldn't find Webhook with 'id'=99"}`},
			{"none yet", "GET", path, "admin", "", 200, `{"replays":[]}`},
		})

		replayJSON := func(replayID int64, state string, scanned, queued, pending int, finished string) string {
			return fmt.Sprintf(`{"replay":{"id":%d,"webhook_id":%d,"state":%q,"since":%q,"until":%q,"include_succeeded":true,
				"total":3,"scanned":%d,"queued":%d,"skipped_payload_expired":0,"pending":%d,"succeeded":0,"failed":0,"created_at":%q,"finished_at":%s}}`,
				replayID, id, state, since, now, scanned, queued, pending, now, finished)
		}
		begin := func() int64 {
			t.Helper()
			res := a.do("POST", path, a.adminKey, `{"since":"`+since+`","include_succeeded":true}`)
			var v api.ReplayResponse
			if err := json.Unmarshal(res.body, &v); err != nil || res.status != 200 {
				t.Fatalf("start: %d %s", res.status, res.body)
			}
			expect(t, res, 200, replayJSON(v.Replay.ID, "running", 0, 0, 0, "null"))
			return v.Replay.ID
		}
		first := begin()
		one := fmt.Sprintf("%s/%d", path, first)
		a.run(t, []step{
			{"one at a time", "POST", path, "admin", `{"since":"` + since + `"}`, 409,
				fmt.Sprintf(`{"error":"Webhook %d has a replay running: cancel it or wait for it to finish"}`, id)},
			{"another webhook's may run", "POST", fmt.Sprintf("/api/v2/admin/webhooks/%d/replays", other), "admin", `{"since":"` + since + `"}`, 200, ""},
			{"watch", "GET", one, "admin", "", 200, replayJSON(first, "running", 0, 0, 0, "null")},
			{"another webhook's replay", "GET", fmt.Sprintf("/api/v2/admin/webhooks/%d/replays/%d", other, first), "admin", "", 404,
				fmt.Sprintf(`{"error":"Couldn't find Replay with 'id'=%d"}`, first)},
			{"not a replay id", "GET", path + "/x", "admin", "", 404, `{"error":"Couldn't find Replay with 'id'=x"}`},
		})
		// The replay loop's work, done here by hand.
		if _, _, err := store.ReplayChunk(t.Context(), first); err != nil {
			t.Fatal(err)
		}
		done := replayJSON(first, "done", 3, 3, 3, fmt.Sprintf("%q", now))
		a.run(t, []step{
			{"progress", "GET", one, "admin", "", 200, done},
			{"cancel a done replay changes nothing", "DELETE", one, "admin", "", 200, done},
		})
		second := begin()
		expect(t, a.do("DELETE", fmt.Sprintf("%s/%d", path, second), a.adminKey, ""), 200,
			replayJSON(second, "cancelled", 0, 0, 0, fmt.Sprintf("%q", now)))
		// The observer hears of the replay the API cancelled, not of the
		// done one (the replay loop tells of those).
		if len(told.ids) != 1 || told.ids[0] != second {
			t.Errorf("replays told of: %v, want [%d]", told.ids, second)
		}
		var list api.ReplaysResponse
		res := a.do("GET", path, a.adminKey, "")
		if err := json.Unmarshal(res.body, &list); err != nil || len(list.Replays) != 2 || list.Replays[0].ID != second || list.Replays[1].ID != first {
			t.Errorf("list: %s, want replays %d and %d", res.body, second, first)
		}
	})
}

// toldReplays records the replays an observer was told of.
type toldReplays struct{ ids []int64 }

func (o *toldReplays) ReplayFinished(r *hookd.Replay) { o.ids = append(o.ids, r.ID) }

// TestRetryFailedAPI re-queues every webhook's final failures since a time.
func TestRetryFailedAPI(t *testing.T) {
	backends(t, func(t *testing.T, store hookd.Store) {
		a := newTestAPI(t, store)
		path := "/api/v2/admin/webhooks/retry_failed"
		a.run(t, []step{
			{"no since", "POST", path, "admin", `{}`, 422, `{"error":"Missing parameter since"}`},
			{"since not a time", "POST", path, "admin", `{"since":1}`, 422, `{"error":"Invalid parameter 'since' value 1: Must be a String"}`},
			{"until before since", "POST", path, "admin", `{"since":"2030-01-02T00:00:00Z","until":"2030-01-01T00:00:00Z"}`, 422,
				`{"error":"Invalid parameter 'until' value \"2030-01-01T00:00:00Z\": Must be a range of time: since before until (until defaults to now)"}`},
			{"not admin", "POST", path, "publisher", `{"since":"2020-01-01T00:00:00Z"}`, 401, `{"error":"Unauthorized"}`},
			{"nothing failed", "POST", path, "admin", `{"since":"2020-01-01T00:00:00Z"}`, 200, `{"requeued":0}`},
		})
		// Two webhooks' final failures.
		a.createWebhook(t, seedBody+"}")
		a.createWebhook(t, seedBody+"}")
		a.publish(t, a.publisher, `{"event":"ASSET_ADDED"}`)
		now := time.Now()
		claimed, err := store.Claim(t.Context(), hookd.ClaimRequest{Worker: "t", Limit: 10, Lease: time.Minute, Workers: 100})
		if err != nil || len(claimed.Deliveries) != 2 {
			t.Fatalf("claimed %d, %v", len(claimed.Deliveries), err)
		}
		var results []hookd.AttemptResult
		for _, d := range claimed.Deliveries {
			results = append(results, hookd.AttemptResult{DeliveryID: d.ID, WebhookID: d.WebhookID, Worker: "t", Attempt: 1,
				At: now, HTTPStatus: 500, ErrorClass: hookd.ClassStatus, Error: "HTTP 500"})
		}
		if err := store.Complete(t.Context(), results); err != nil {
			t.Fatal(err)
		}
		since := now.Add(-time.Minute).UTC().Format(time.RFC3339Nano)
		expect(t, a.do("POST", path, a.adminKey, `{"since":"`+since+`"}`), 200, `{"requeued":2}`)
		expect(t, a.do("POST", path, a.adminKey, `{"since":"`+since+`"}`), 200, `{"requeued":0}`)
	})
}
