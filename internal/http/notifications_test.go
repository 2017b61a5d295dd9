package http_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hookd/hookd"
)

// TestNotificationsAPI walks the subscriptions to operational
// notifications: create, read, update, delete, the secret and the logs;
// every refused value, which changes nothing; and the webhook that
// delivers a subscription, which the webhooks' routes never show.
func TestNotificationsAPI(t *testing.T) {
	backends(t, func(t *testing.T, store hookd.Store) {
		a := newTestAPI(t, store)
		const base = "/api/v2/admin/notifications"
		every := `["webhook.disabled","circuit.opened","circuit.closed","delivery.failed","replay.finished"]`
		sub := func(id, url, kinds string, disabled bool) string {
			return fmt.Sprintf(`{"notification":{"id":%s,"url":%q,"kinds":%s,"disabled":%v,"created_at":"<time>","updated_at":"<time>"}}`,
				id, url, kinds, disabled)
		}
		a.run(t, []step{
			{"none yet", "GET", base, "admin", "", 200, `{"notifications":[]}`},
			{"create: not admin", "POST", base, "publisher", `{"url":"https://ops.example.com/a"}`, 401, `{"error":"Unauthorized"}`},
			{"create: every kind by default", "POST", base, "admin", `{"url":"https://ops.example.com/a"}`, 200,
				sub("1", "https://ops.example.com/a", every, false)},
			{"create: some kinds", "POST", base, "admin", `{"url":"https://ops.example.com/b","kinds":["circuit.opened","webhook.disabled"]}`, 200,
				sub("2", "https://ops.example.com/b", `["circuit.opened","webhook.disabled"]`, false)},
			{"list", "GET", base, "admin", "", 200, `{"notifications":[` +
				strings.TrimSuffix(strings.TrimPrefix(sub("1", "https://ops.example.com/a", every, false), `{"notification":`), "}") + `,` +
				strings.TrimSuffix(strings.TrimPrefix(sub("2", "https://ops.example.com/b", `["circuit.opened","webhook.disabled"]`, false), `{"notification":`), "}") + `]}`},
			{"get", "GET", base + "/2", "admin", "", 200, sub("2", "https://ops.example.com/b", `["circuit.opened","webhook.disabled"]`, false)},
			{"update the kinds", "POST", base + "/2", "admin", `{"kinds":["delivery.failed"]}`, 200,
				sub("2", "https://ops.example.com/b", `["delivery.failed"]`, false)},
			{"update the url and disable", "POST", base + "/2", "admin", `{"url":"https://ops.example.com/c","disabled":true}`, 200,
				sub("2", "https://ops.example.com/c", `["delivery.failed"]`, true)},
			{"nothing to change", "POST", base + "/2", "admin", `{}`, 200, sub("2", "https://ops.example.com/c", `["delivery.failed"]`, true)},
			{"enable", "POST", base + "/2", "admin", `{"disabled":false}`, 200, sub("2", "https://ops.example.com/c", `["delivery.failed"]`, false)},
			{"success log", "GET", base + "/2/success", "admin", "", 200, `{"success_log":[]}`},
			{"failed log", "GET", base + "/2/failed?per_page=5", "admin", "", 200, `{"failed_log":[]}`},
			{"failed log: bad page", "GET", base + "/2/failed?page=0", "admin", "", 422, ""},
			{"get: unknown", "GET", base + "/99", "admin", "", 404, `{"error":"Couldn't find Notification with 'id'=99"}`},
			{"get: not a number", "GET", base + "/x", "admin", "", 404, `{"error":"Couldn't find Notification with 'id'=x"}`},
			{"secret: unknown", "GET", base + "/99/secret", "admin", "", 404, `{"error":"Couldn't find Notification with 'id'=99"}`},
			{"update: unknown", "POST", base + "/99", "admin", `{"disabled":true}`, 404, `{"error":"Couldn't find Notification with 'id'=99"}`},
			{"secret: not admin", "GET", base + "/1/secret", "publisher", "", 401, `{"error":"Unauthorized"}`},

			// The subscriptions' webhooks are not the customers' webhooks.
			{"not among the webhooks", "GET", "/api/v2/admin/webhooks", "admin", "", 200, `{"webhooks":[]}`},
			{"nor one of them", "GET", "/api/v2/admin/webhooks/1", "admin", "", 404, `{"error":"Couldn't find Webhook with 'id'=1"}`},
			{"nor its sub-resources", "GET", "/api/v2/admin/webhooks/2/secret", "admin", "", 404, `{"error":"Couldn't find Webhook with 'id'=2"}`},
			{"nor deletable as a webhook", "DELETE", "/api/v2/admin/webhooks/2", "admin", "", 404, `{"error":"Couldn't find Webhook with 'id'=2"}`},
			{"a customer's webhook is", "POST", "/api/v2/admin/webhooks", "admin",
				`{"name":"w","http_url":"https://receiver.example/w","http_method":"POST","trigger_events":["ASSET_ADDED"]}`, 200, ""},
			{"listed alone", "GET", "/api/v2/admin/webhooks/3", "admin", "", 200, ""},
		})
		secret := a.do("GET", base+"/1/secret", a.adminKey, "")
		if secret.status != 200 || !strings.Contains(string(secret.body), `"secret":"whsec_`) {
			t.Fatalf("secret: %d %s", secret.status, secret.body)
		}
		if list := a.do("GET", "/api/v2/admin/webhooks", a.adminKey, ""); strings.Count(string(list.body), `"id":`) != 1 {
			t.Fatalf("webhooks: %s, want the customer's alone", list.body)
		}

		unchanged := sub("1", "https://ops.example.com/a", every, false)
		rule := "Must be an array of one or more of: webhook.disabled, circuit.opened, circuit.closed, delivery.failed, replay.finished"
		urlRule := "Must be an absolute http or https URL without credentials, at most 2048 characters"
		for _, c := range []struct{ name, method, path, body, want string }{
			{"create: no url", "POST", base, `{"kinds":["circuit.opened"]}`, `Missing parameter url`},
			{"create: url not http", "POST", base, `{"url":"ftp://ops.example.com"}`, `Invalid parameter 'url' value "ftp://ops.example.com": ` + urlRule},
			{"create: url with credentials", "POST", base, `{"url":"https://u:p@ops.example.com"}`, `Invalid parameter 'url' value "https://u:p@ops.example.com": ` + urlRule},
			{"create: url too long", "POST", base, `{"url":"https://ops.example.com/` + strings.Repeat("a", 2048) + `"}`, ""},
			{"create: kinds empty", "POST", base, `{"url":"https://ops.example.com","kinds":[]}`, `Invalid parameter 'kinds' value []: ` + rule},
			{"create: a trigger event is not a kind", "POST", base, `{"url":"https://ops.example.com","kinds":["ASSET_ADDED"]}`,
				`Invalid parameter 'kinds' value ["ASSET_ADDED"]: ` + rule},
			{"create: kinds repeated", "POST", base, `{"url":"https://ops.example.com","kinds":["circuit.opened","circuit.opened"]}`,
				`Invalid parameter 'kinds' value ["circuit.opened", "circuit.opened"]: ` + rule},
			{"create: kinds not strings", "POST", base, `{"url":"https://ops.example.com","kinds":[1]}`, `Invalid parameter 'kinds' value [1]: ` + rule},
			{"create: kinds null", "POST", base, `{"url":"https://ops.example.com","kinds":null}`, `Invalid parameter 'kinds' value nil: ` + rule},
			{"update: bad kinds beside a good url", "POST", base + "/1", `{"url":"https://ops.example.com/z","kinds":"all"}`,
				`Invalid parameter 'kinds' value "all": ` + rule},
			{"update: bad disabled beside good kinds", "POST", base + "/1", `{"kinds":["circuit.opened"],"disabled":"maybe"}`, ""},
			{"update: url null", "POST", base + "/1", `{"url":null}`, ""},
		} {
			t.Run(c.name, func(t *testing.T) {
				want := ""
				if c.want != "" {
					want = fmt.Sprintf(`{"error":%q}`, c.want)
				}
				expect(t, a.do(c.method, c.path, a.adminKey, c.body), 422, want)
				expect(t, a.do("GET", base+"/1", a.adminKey, ""), 200, unchanged)
				if list := a.do("GET", base, a.adminKey, ""); strings.Count(string(list.body), `"url":`) != 2 {
					t.Fatalf("subscriptions after a refused request: %s", list.body)
				}
			})
		}

		a.run(t, []step{
			{"delete", "DELETE", base + "/1", "admin", "", 200, `{"ok":"ok"}`},
			{"deleted", "GET", base + "/1", "admin", "", 404, `{"error":"Couldn't find Notification with 'id'=1"}`},
			{"delete again", "DELETE", base + "/1", "admin", "", 404, `{"error":"Couldn't find Notification with 'id'=1"}`},
			{"its webhook went too", "GET", "/api/v2/admin/webhooks/1", "admin", "", 404, `{"error":"Couldn't find Webhook with 'id'=1"}`},
		})
	})
}
