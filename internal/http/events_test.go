package http_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/api"
)

func (a *testAPI) publish(t *testing.T, key, body string) api.PublishedEvent {
	t.Helper()
	res := a.do("POST", "/api/v2/events", key, body)
	expect(t, res, 200, "")
	var v api.EventResponse
	if err := json.Unmarshal(res.body, &v); err != nil {
		t.Fatal(err)
	}
	return v.Event
}

func (a *testAPI) createWebhook(t *testing.T, body string) int64 {
	t.Helper()
	res := a.do("POST", "/api/v2/admin/webhooks", a.adminKey, body)
	expect(t, res, 200, "")
	var v api.WebhookResponse
	if err := json.Unmarshal(res.body, &v); err != nil {
		t.Fatal(err)
	}
	return v.Webhook.ID
}

func (a *testAPI) queueLength(t *testing.T, id int64) int {
	t.Helper()
	res := a.do("GET", fmt.Sprintf("/api/v2/admin/webhooks/%d", id), a.adminKey, "")
	var v api.WebhookResponse
	if err := json.Unmarshal(res.body, &v); err != nil {
		t.Fatal(err)
	}
	return v.Webhook.QueueLength
}

func TestEventIntake(t *testing.T) {
	backends(t, func(t *testing.T, store hookd.Store) {
		a := newTestAPI(t, store)
		expect(t, a.do("POST", "/api/v2/admin/projects", a.adminKey, `{"id":"P1","title":"One"}`), 200, "")
		hook := func(extra string) string {
			return `{"name":"w","http_url":"http://127.0.0.1:1/hook","http_method":"POST","trigger_events":["ASSET_ADDED","PROJECT_ADDED"]` + extra + `}`
		}
		ofProject := a.createWebhook(t, hook(`,"project_id":"P1"`))
		anyProject := a.createWebhook(t, hook(""))
		ofUser := a.createWebhook(t, hook(""))
		expect(t, a.do("POST", fmt.Sprintf("/api/v2/admin/webhooks/%d/webhook_users", ofUser), a.adminKey, `{"user_id":45}`), 200, "")
		disabled := a.createWebhook(t, hook(`,"disabled":true`))

		e := a.publish(t, a.publisher, `{"event":"ASSET_ADDED","project_id":"P1","user_id":45,"data":{"asset_id":"A1"}}`)
		if e.Deliveries != 3 || e.Event != "ASSET_ADDED" || *e.ProjectID != "P1" || *e.UserID != 45 || string(e.Data) != `{"asset_id":"A1"}` || !strings.HasPrefix(e.ID, "evt_") {
			t.Errorf("published %+v, want 3 deliveries (project, any, user; not the disabled one)", e)
		}
		if e := a.publish(t, a.adminKey, `{"event":"ASSET_ADDED","project_id":"P2","user_id":46}`); e.Deliveries != 1 || string(e.Data) != "{}" {
			t.Errorf("another project and user: %+v, want only the any-project webhook", e)
		}
		if e := a.publish(t, a.publisher, `{"event":"ASSET_REMOVED"}`); e.Deliveries != 0 {
			t.Errorf("unsubscribed event: %d deliveries", e.Deliveries)
		}
		for id, want := range map[int64]int{ofProject: 1, anyProject: 2, ofUser: 1, disabled: 0} {
			if got := a.queueLength(t, id); got != want {
				t.Errorf("webhook %d queue_length %d, want %d", id, got, want)
			}
		}

		// A client id makes a publish idempotent.
		first := a.publish(t, a.publisher, `{"id":"client-1","event":"ASSET_ADDED","data":{"n":1}}`)
		again := a.publish(t, a.publisher, `{"id":"client-1","event":"ASSET_ADDED","data":{"n":2}}`)
		if first.ID != "client-1" || first.Duplicate || !again.Duplicate || again.Deliveries != first.Deliveries || !again.CreatedAt.Equal(first.CreatedAt.Time) || string(again.Data) != `{"n":1}` {
			t.Errorf("repeat of a client id: first %+v, again %+v", first, again)
		}
		if got := a.queueLength(t, anyProject); got != 3 {
			t.Errorf("the repeat queued a delivery: queue_length %d, want 3", got)
		}

		// The project registry follows PROJECT_ADDED and PROJECT_PURGED.
		a.publish(t, a.publisher, `{"event":"PROJECT_ADDED","project_id":"NewProject","data":{"title":"Fresh"}}`)
		expect(t, a.do("GET", "/api/v2/projects/NewProject", a.publisher, ""), 200, "")
		a.publish(t, a.publisher, `{"event":"PROJECT_PURGED","project_id":"NewProject"}`)
		expect(t, a.do("GET", "/api/v2/projects/NewProject", a.publisher, ""), 404, `{"error":"project not found"}`)

		eventList := strings.Join(hookd.EventNames, ", ")
		a.run(t, []step{
			{"no key", "POST", "/api/v2/events", "none", `{"event":"ASSET_ADDED"}`, 401, `{"error":"Unauthorized"}`},
			{"unknown event", "POST", "/api/v2/events", "publisher", `{"event":"ASSET_EXPLODED"}`, 422,
				fmt.Sprintf(`{"error":%q}`, `Invalid parameter 'event' value "ASSET_EXPLODED": Must be one of: `+eventList)},
			{"missing event", "POST", "/api/v2/events", "publisher", `{"project_id":"P1"}`, 422, `{"error":"Missing parameter event"}`},
			{"bad user", "POST", "/api/v2/events", "publisher", `{"event":"ASSET_ADDED","user_id":"x"}`, 422, `{"error":"Invalid parameter 'user_id' value \"x\": Must be a Integer"}`},
			{"bad data", "POST", "/api/v2/events", "publisher", `{"event":"ASSET_ADDED","data":[1]}`, 422, `{"error":"Invalid parameter 'data' value [1]: Must be a Hash"}`},
			{"batch: missing events", "POST", "/api/v2/events/batch", "publisher", `{}`, 422, `{"error":"Missing parameter events"}`},
			{"batch: empty", "POST", "/api/v2/events/batch", "publisher", `{"events":[]}`, 422, `{"error":"Invalid parameter 'events' value []: Must be an array of 1 to 1000 events"}`},
			{"batch: bad item", "POST", "/api/v2/events/batch", "publisher", `{"events":[{"id":"b-1","event":"ASSET_ADDED"},{"event":"NOPE"}]}`, 422,
				fmt.Sprintf(`{"error":%q}`, `Invalid parameter 'events[1].event' value "NOPE": Must be one of: `+eventList)},
			{"batch: item not an object", "POST", "/api/v2/events/batch", "publisher", `{"events":[5]}`, 422, `{"error":"Invalid parameter 'events[0]' value 5: Must be a Hash"}`},
		})

		// The rejected batch stored nothing: its valid first event is new.
		res := a.do("POST", "/api/v2/events/batch", a.publisher, `{"events":[{"id":"b-1","event":"ASSET_ADDED","project_id":"P1"},{"event":"ASSET_ADDED","user_id":45},{"event":"USER_ADDED"}]}`)
		expect(t, res, 200, "")
		var batch api.EventsResponse
		if err := json.Unmarshal(res.body, &batch); err != nil {
			t.Fatal(err)
		}
		if len(batch.Events) != 3 || batch.Events[0].Duplicate || batch.Events[0].Deliveries != 2 || batch.Events[1].Deliveries != 2 || batch.Events[2].Deliveries != 0 {
			t.Errorf("batch answer %s", res.body)
		}

		var tooMany []string
		for range 1001 {
			tooMany = append(tooMany, `{"event":"ASSET_ADDED"}`)
		}
		res = a.do("POST", "/api/v2/events/batch", a.publisher, `{"events":[`+strings.Join(tooMany, ",")+`]}`)
		if res.status != 422 || !strings.Contains(string(res.body), "Must be an array of 1 to 1000 events") {
			t.Errorf("1001 events: %d %.200s", res.status, res.body)
		}
	})
}

// An event id is an idempotency key of the API key that published it: a
// publisher repeating its own event gets it back, another publisher sending
// the same id gets 409 without any of the event, and nothing of its request
// is stored.
func TestEventIDsPerKey(t *testing.T) {
	backends(t, func(t *testing.T, store hookd.Store) {
		a := newTestAPI(t, store)
		other, err := hookd.IssueAPIKey(t.Context(), store, hookd.DefaultUserID, "publisher B", hookd.RolePublisher)
		if err != nil {
			t.Fatal(err)
		}
		hook := a.createWebhook(t, `{"name":"w","http_url":"http://127.0.0.1:1/hook","http_method":"POST","trigger_events":["ASSET_ADDED"]}`)
		original := a.publish(t, a.publisher, `{"id":"evt_shared","event":"ASSET_ADDED","data":{"private":"of A"}}`)

		taken := func(name string) string {
			return fmt.Sprintf(`{"error":%q}`, `Conflict: '`+name+`' value "evt_shared" is the id of an event that another API key published; event ids are unique, use another`)
		}
		a.run(t, []step{
			{"another key", "POST", "/api/v2/events", other, `{"id":"evt_shared","event":"ASSET_ADDED","data":{"b":1}}`, 409, taken("id")},
			{"another key, in a batch", "POST", "/api/v2/events/batch", other,
				`{"events":[{"id":"evt_b","event":"ASSET_ADDED"},{"id":"evt_shared","event":"ASSET_ADDED"}]}`, 409, taken("events[1].id")},
			// An admin key is another key too.
			{"an admin key", "POST", "/api/v2/events", "admin", `{"id":"evt_shared","event":"ASSET_ADDED"}`, 409, taken("id")},
		})
		if got := a.queueLength(t, hook); got != 1 {
			t.Errorf("queue_length %d after the refusals, want 1 (the original's)", got)
		}
		// The refused batch stored nothing: its first event is new.
		if e := a.publish(t, other, `{"id":"evt_b","event":"ASSET_ADDED"}`); e.Duplicate {
			t.Errorf("the refused batch stored evt_b: %+v", e)
		}
		again := a.publish(t, a.publisher, `{"id":"evt_shared","event":"ASSET_ADDED","data":{"n":2}}`)
		if !again.Duplicate || string(again.Data) != `{"private":"of A"}` || !again.CreatedAt.Equal(original.CreatedAt.Time) {
			t.Errorf("the publisher's own repeat: %+v, want its original", again)
		}
	})
}
