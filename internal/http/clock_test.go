package http_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/hookd/hookd/api"
	"github.com/hookd/hookd/internal/clocktest"
)

// The server reads the time from its clock: a test event is stamped with
// it, and an API key's last access is written at most once a minute of that
// clock.
func TestServerClock(t *testing.T) {
	start := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := clocktest.New(start)
	a := clockedAPI(t, clock)

	id := a.createWebhook(t, `{"name":"w","http_url":"https://example.com/","http_method":"POST","trigger_events":["ASSET_ADDED"]}`)
	var test api.EventResponse
	res := a.do("POST", fmt.Sprintf("/api/v2/admin/webhooks/%d/test", id), a.adminKey, "")
	if err := json.Unmarshal(res.body, &test); err != nil || !test.Event.CreatedAt.Equal(start) {
		t.Errorf("test event: %s, want created at %s", res.body, start)
	}

	lastAccess := func() time.Time {
		t.Helper()
		var keys api.APIKeysResponse
		res := a.do("GET", "/api/v2/user/api_keys", a.adminKey, "")
		if err := json.Unmarshal(res.body, &keys); err != nil {
			t.Fatal(err)
		}
		for _, k := range keys.APIKeys {
			if k.Name == "test admin" && k.LastAccess != nil {
				return k.LastAccess.Time
			}
		}
		t.Fatalf("no last access in %s", res.body)
		return time.Time{}
	}
	if got := lastAccess(); !got.Equal(start) {
		t.Errorf("last access %s, want %s", got, start)
	}
	clock.Advance(59 * time.Second)
	if got := lastAccess(); !got.Equal(start) {
		t.Errorf("59 s later: last access %s, want %s still", got, start)
	}
	later := clock.Advance(2 * time.Second)
	a.do("GET", "/api/v2/admin/webhooks", a.adminKey, "")
	if got := lastAccess(); !got.Equal(later) {
		t.Errorf("61 s later: last access %s, want %s", got, later)
	}
}
