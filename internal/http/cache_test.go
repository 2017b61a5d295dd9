package http_test

import (
	"strconv"
	"testing"

	"github.com/hookd/hookd"
)

// TestAnswersAreNotCached: what a GET answers (a signing secret, here)
// tells a cache in front of hookd not to keep it.
func TestAnswersAreNotCached(t *testing.T) {
	backends(t, func(t *testing.T, store hookd.Store) {
		a := newTestAPI(t, store)
		id := a.createWebhook(t, seedBody+"}")
		for _, path := range []string{"/api/v2/admin/webhooks/" + strconv.FormatInt(id, 10) + "/secret", "/api/v2/admin/webhooks", "/healthz"} {
			res := a.do("GET", path, a.adminKey, "")
			if res.status != 200 || res.header.Get("Cache-Control") != "no-store" || res.header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("GET %s: %d, Cache-Control %q, X-Content-Type-Options %q", path, res.status,
					res.header.Get("Cache-Control"), res.header.Get("X-Content-Type-Options"))
			}
		}
	})
}
