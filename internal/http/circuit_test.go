package http_test

import (
	"testing"

	"github.com/hookd/hookd"
)

// TestCircuit reads a webhook's circuit: closed with nulls until attempts
// open it (the opening is the stores' contract, internal/storetest).
func TestCircuit(t *testing.T) {
	backends(t, func(t *testing.T, store hookd.Store) {
		a := newTestAPI(t, store)
		a.run(t, []step{
			{"create a webhook", "POST", "/api/v2/admin/webhooks", "admin", seedBody + "}", 200, webhookJSON("1", "null")},
			{"closed", "GET", "/api/v2/admin/webhooks/1/circuit", "admin", "", 200,
				`{"circuit":{"state":"closed","consecutive_failures":0,"opened_at":null,"next_probe_at":null}}`},
			{"not admin", "GET", "/api/v2/admin/webhooks/1/circuit", "publisher", "", 401, `{"error":"Unauthorized"}`},
			{"unknown webhook", "GET", "/api/v2/admin/webhooks/99/circuit", "admin", "", 404, `{"error":"Couldn't find Webhook with 'id'=99"}`},
			{"id not a number", "GET", "/api/v2/admin/webhooks/abc/circuit", "admin", "", 404, `{"error":"Couldn't find Webhook with 'id'=abc"}`},
		})
	})
}
