package http_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/api"
)

// TestErase erases an event, a project's events and a user's events over
// HTTP: their data goes (a repeat of an id answers the original, now
// erased), their queued deliveries are cancelled and logged as such, and
// what is not theirs stays. Bad ids get the API's errors.
func TestErase(t *testing.T) {
	backends(t, func(t *testing.T, store hookd.Store) {
		a := newTestAPI(t, store)
		id := a.createWebhook(t, seedBody+"}")
		a.publish(t, a.publisher, `{"id":"ev-1","event":"ASSET_ADDED","data":{"note":"SECRET"}}`)
		a.publish(t, a.publisher, `{"id":"ev-2","event":"ASSET_ADDED","project_id":"p1","data":{"note":"SECRET"}}`)
		a.publish(t, a.publisher, `{"id":"ev-3","event":"ASSET_ADDED","project_id":"p1","user_id":7,"data":{"note":"SECRET"}}`)
		a.publish(t, a.publisher, `{"id":"ev-4","event":"ASSET_ADDED","user_id":7,"data":{"note":"SECRET"}}`)
		a.publish(t, a.publisher, `{"id":"ev-5","event":"ASSET_ADDED","user_id":8,"data":{"note":"KEPT"}}`)
		erased := func(events, cancelled int) string {
			return fmt.Sprintf(`{"erased":{"events":%d,"cancelled_deliveries":%d,"cleared_attempts":0}}`, events, cancelled)
		}
		a.run(t, []step{
			{"an event", "POST", "/api/v2/admin/events/ev-1/erase", "admin", "", 200, erased(1, 1)},
			{"an event again: nothing left to cancel", "POST", "/api/v2/admin/events/ev-1/erase", "admin", "", 200, erased(1, 0)},
			{"a project", "POST", "/api/v2/admin/projects/p1/erase", "admin", "", 200, erased(2, 2)},
			{"a user: ev-3 again and ev-4", "POST", "/api/v2/admin/users/7/erase", "admin", "", 200, erased(2, 1)},
			{"a user without events", "POST", "/api/v2/admin/users/9/erase", "admin", "", 200, erased(0, 0)},
			{"a project without events", "POST", "/api/v2/admin/projects/nobody/erase", "admin", "", 200, erased(0, 0)},
			{"unknown event", "POST", "/api/v2/admin/events/nope/erase", "admin", "", 404, `{"error":"Couldn't find Event with 'id'=nope"}`},
			{"user id not a number", "POST", "/api/v2/admin/users/abc/erase", "admin", "", 422,
				`{"error":"Invalid parameter 'user_id' value \"abc\": Must be a Integer"}`},
			{"user id too large", "POST", "/api/v2/admin/users/99999999999999999999/erase", "admin", "", 422,
				`{"error":"Invalid parameter 'user_id' value \"99999999999999999999\": Must be a Integer"}`},
			{"project id with a space", "POST", "/api/v2/admin/projects/a%20b/erase", "admin", "", 422,
				`{"error":"Invalid parameter 'project_id' value \"a b\": Must be a String of 1 to 64 characters from A-Z, a-z, 0-9, _ and -"}`},
			{"publisher key", "POST", "/api/v2/admin/events/ev-5/erase", "publisher", "", 401, `{"error":"Unauthorized"}`},
			{"GET", "GET", "/api/v2/admin/events/ev-5/erase", "admin", "", 405, `{"error":"Method GET not allowed on /api/v2/admin/events/ev-5/erase"}`},
		})
		res := a.do("POST", "/api/v2/admin/events/"+strings.Repeat("x", 20000)+"/erase", a.adminKey, "")
		if res.status != 404 && res.status != 414 && res.status != 431 {
			t.Errorf("a 20 kB event id: %d %s", res.status, res.body)
		}

		// A repeat of an erased id answers the original, erased; the kept
		// one keeps its data.
		for id, want := range map[string]string{"ev-1": `{}`, "ev-3": `{}`, "ev-5": `{"note":"KEPT"}`} {
			got := a.publish(t, a.publisher, `{"id":"`+id+`","event":"ASSET_ADDED"}`)
			if !got.Duplicate || compactJSON(t, got.Data) != want {
				t.Errorf("%s: data %s (duplicate %v), want %s", id, got.Data, got.Duplicate, want)
			}
		}
		// Only ev-5's delivery is left; the cancelled ones are logged.
		if n := a.queueLength(t, id); n != 1 {
			t.Errorf("queue length %d, want 1", n)
		}
		res = a.do("GET", fmt.Sprintf("/api/v2/admin/webhooks/%d/failed", id), a.adminKey, "")
		var log api.FailedLogResponse
		if err := json.Unmarshal(res.body, &log); err != nil {
			t.Fatal(err)
		}
		cancelled := 0
		for _, e := range log.FailedLog {
			if e.ErrorClass != nil && *e.ErrorClass == hookd.ErasedErrorClass {
				cancelled++
			}
		}
		if cancelled != 4 {
			t.Errorf("%d cancellations logged, want 4: %s", cancelled, res.body)
		}
	})
}

func compactJSON(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(v)
	return string(out)
}
