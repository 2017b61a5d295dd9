package http_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookd/hookd"
	hookdhttp "github.com/hookd/hookd/http"
	"github.com/hookd/hookd/sqlite"
)

// fuzzRoutes are the endpoints that take a JSON body.
var fuzzRoutes = []string{
	"/api/v2/admin/webhooks",
	"/api/v2/admin/webhooks/1",
	"/api/v2/admin/webhooks/1/webhook_headers",
	"/api/v2/admin/webhooks/1/webhook_headers/1",
	"/api/v2/admin/webhooks/1/webhook_users",
	"/api/v2/admin/webhooks/1/retry",
	"/api/v2/admin/webhooks/1/test",
	"/api/v2/admin/projects",
	"/api/v2/user/api_keys",
	"/api/v2/events",
	"/api/v2/events/batch",
}

// FuzzRequestValidation sends arbitrary bodies to every JSON endpoint: the
// answer is always a 200 or a 4xx in the error shape, never a 5xx or a panic.
// Its seed corpus runs with the normal tests.
func FuzzRequestValidation(f *testing.F) {
	for i := range fuzzRoutes {
		for _, body := range []string{
			seedBody + `,"project_id":"GsrwPNm6nJ7CKRYnQZl6"}`,
			seedBody + "}",
			`{"name":"Sample Webhook","http_url":null,"http_method":"POST","trigger_events":["ASSET_ADDED"]}`,
			`{"header_key":"test-key","header_value":"test-value","hidden":false,"is_hmac":false}`,
			`{"webhook_id":20,"user_id":45}`,
			`{"event":"ASSET_ADDED","project_id":"p1","user_id":45,"data":{"asset_id":"a"}}`,
			`{"events":[{"event":"ASSET_ADDED"},{"event":"NOPE"}]}`,
			`{"name":{"a":[1,2.5e300,null,true]},"trigger_events":[["x"]]}`,
			`{"from":"2023-11-27T09:42:39.937Z","to":"x"}`,
			`{"user_id":"99999999999999999999999"}`,
			`[]`, `"x"`, `{`, ``,
		} {
			f.Add(uint8(i), body)
		}
	}
	store, err := sqlite.Open(context.Background(), filepath.Join(f.TempDir(), "fuzz.db"))
	if err != nil {
		f.Fatal(err)
	}
	defer store.Close()
	ctx := context.Background()
	key, err := hookd.IssueAPIKey(ctx, store, hookd.DefaultUserID, "fuzz", hookd.RoleAdmin)
	if err != nil {
		f.Fatal(err)
	}
	api := hookdhttp.NewServer(store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	post := func(path, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-API-KEY", key)
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, req)
		return rec
	}
	if rec := post(fuzzRoutes[0], seedBody+"}"); rec.Code != 200 {
		f.Fatalf("setup webhook: %d %s", rec.Code, rec.Body)
	}

	f.Fuzz(func(t *testing.T, route uint8, body string) {
		path := fuzzRoutes[int(route)%len(fuzzRoutes)]
		rec := post(path, body)
		if rec.Code >= 500 {
			t.Fatalf("POST %s %q: %d %s", path, body, rec.Code, rec.Body)
		}
		var answer map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &answer); err != nil {
			t.Fatalf("POST %s %q: answer is not a JSON object: %s", path, body, rec.Body)
		}
		if rec.Code != http.StatusOK {
			if msg, ok := answer["error"].(string); !ok || msg == "" || len(answer) != 1 {
				t.Fatalf("POST %s %q: %d without the error shape: %s", path, body, rec.Code, rec.Body)
			}
		}
	})
}
