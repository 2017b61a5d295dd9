package http_test

import (
	"testing"

	"github.com/hookd/hookd"
)

// TestEveryAnswerForbidsSniffingAndScript: whatever the route, the method
// and the outcome, an answer of the API is data to a browser: no sniffing
// it into a page, no script, style or frame (a 404 echoes the path asked,
// "<" included).
func TestEveryAnswerForbidsSniffingAndScript(t *testing.T) {
	backends(t, func(t *testing.T, store hookd.Store) {
		a := newTestAPI(t, store)
		for _, tc := range []struct {
			what, method, path, key, body string
			status                        int
		}{
			{"a GET", "GET", "/api/v2/admin/webhooks", a.adminKey, "", 200},
			{"a POST", "POST", "/api/v2/admin/webhooks", a.adminKey, seedBody + "}", 200},
			{"a refused POST", "POST", "/api/v2/admin/webhooks", a.adminKey, `{"name":"<b>"}`, 422},
			{"a DELETE of nothing", "DELETE", "/api/v2/admin/webhooks/999", a.adminKey, "", 404},
			{"no key", "POST", "/api/v2/events", "", `{"event":"ASSET_ADDED"}`, 401},
			{"an unknown path", "GET", "/api/v2/%3Cscript%3Ealert(1)%3C/script%3E", a.adminKey, "", 404},
			{"an unknown method", "DELETE", "/healthz", "", "", 405},
		} {
			res := a.do(tc.method, tc.path, tc.key, tc.body)
			if res.status != tc.status {
				t.Errorf("%s: %s %s answered %d, want %d: %s", tc.what, tc.method, tc.path, res.status, tc.status, res.body)
			}
			if got := res.header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("%s: X-Content-Type-Options %q, want nosniff", tc.what, got)
			}
			if got := res.header.Get("Content-Security-Policy"); got != "default-src 'none'; frame-ancestors 'none'" {
				t.Errorf("%s: Content-Security-Policy %q", tc.what, got)
			}
		}
	})
}
