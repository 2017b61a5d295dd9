package http_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/hookd/hookd"
)

const (
	seedProject   = "GsrwPNm6nJ7CKRYnQZl6"
	updateProject = "dh2NNcH3slJtkJqnfCD2"
	seedBody      = `{"name":"Sample Webhook","http_url":"https://example.website.com","http_method":"POST","trigger_events":["ASSET_ADDED"]`
)

var allEvents = func() string {
	quoted := make([]string, len(hookd.EventNames))
	for i, name := range hookd.EventNames {
		quoted[i] = `"` + name + `"`
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}()

// step is one request of a scripted session against one server, and the
// exact answer MediaPocket's docs (or hookd's contract) give for it.
type step struct {
	name   string
	method string
	path   string
	key    string // "admin", "publisher", "none" or a literal key
	body   string
	status int
	want   string
}

func (a *testAPI) run(t *testing.T, steps []step) {
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			key := map[string]string{"admin": a.adminKey, "publisher": a.publisher, "none": ""}[s.key]
			if _, known := map[string]bool{"admin": true, "publisher": true, "none": true}[s.key]; !known {
				key = s.key
			}
			expect(t, a.do(s.method, s.path, key, s.body), s.status, s.want)
		})
	}
}

// TestAdminAPI walks every example of the seed and the reference, plus the
// endpoints hookd adds, on one server, comparing whole bodies.
func TestAdminAPI(t *testing.T) {
	backends(t, func(t *testing.T, store hookd.Store) {
		a := newTestAPI(t, store)
		unauthorized := `{"error":"Unauthorized"}`
		notFoundWebhook := `{"error":"Couldn't find Webhook with 'id'=-1"}`
		changingIsHMAC := `{"error":"Changing is_hmac changes what header_value is (an HMAC key, or a value sent as it is): send a new header_value with it"}`
		a.run(t, []step{
			{"register seed project", "POST", "/api/v2/admin/projects", "admin", `{"id":"` + seedProject + `","title":"Seed"}`, 200, ""},
			{"register update project", "POST", "/api/v2/admin/projects", "admin", `{"id":"` + updateProject + `","title":"Update"}`, 200, ""},

			{"create: not admin (no key)", "POST", "/api/v2/admin/webhooks", "none", seedBody + "}", 401, unauthorized},
			{"create: not admin (publisher)", "POST", "/api/v2/admin/webhooks", "publisher", seedBody + "}", 401, unauthorized},
			{"create: unknown key", "POST", "/api/v2/admin/webhooks", "abcde.nosuchsecret", seedBody + "}", 401, unauthorized},
			{"create: malformed key", "POST", "/api/v2/admin/webhooks", "no-dot-here", seedBody + "}", 401, unauthorized},
			{"create: with project (seed example 1)", "POST", "/api/v2/admin/webhooks", "admin",
				seedBody + `,"project_id":"` + seedProject + `"}`, 200, webhookJSON("1", `"`+seedProject+`"`)},
			{"create: without project (seed example 2)", "POST", "/api/v2/admin/webhooks", "admin",
				seedBody + "}", 200, webhookJSON("2", "null")},
			{"create: http_url nil (seed example 3)", "POST", "/api/v2/admin/webhooks", "admin",
				`{"name":"Sample Webhook","http_url":null,"http_method":"POST","trigger_events":["ASSET_ADDED"]}`,
				422, `{"error":"Invalid parameter 'http_url' value nil: Must be a String"}`},
			{"create: project not found (seed example 4)", "POST", "/api/v2/admin/webhooks", "admin",
				seedBody + `,"project_id":"test_id"}`, 404, `{"error":"project not found"}`},
			{"create: missing name", "POST", "/api/v2/admin/webhooks", "admin",
				`{"http_url":"https://example.website.com","http_method":"POST","trigger_events":["ASSET_ADDED"]}`,
				422, `{"error":"Missing parameter name"}`},
			{"create: missing trigger_events", "POST", "/api/v2/admin/webhooks", "admin",
				`{"name":"x","http_url":"https://example.website.com","http_method":"POST"}`,
				422, `{"error":"Missing parameter trigger_events"}`},
			{"create: name not a string", "POST", "/api/v2/admin/webhooks", "admin",
				`{"name":12,"http_url":"https://example.website.com","http_method":"POST","trigger_events":["ASSET_ADDED"]}`,
				422, `{"error":"Invalid parameter 'name' value 12: Must be a String"}`},
			{"create: unknown trigger event", "POST", "/api/v2/admin/webhooks", "admin",
				`{"name":"x","http_url":"https://example.website.com","http_method":"POST","trigger_events":["ASSET_ADDED","NOPE"]}`,
				422, fmt.Sprintf(`{"error":%q}`, `Invalid parameter 'trigger_events' value ["ASSET_ADDED", "NOPE"]: Must be an array of `+allEvents)},
			{"create: trigger_events not an array", "POST", "/api/v2/admin/webhooks", "admin",
				`{"name":"x","http_url":"https://example.website.com","http_method":"POST","trigger_events":"ASSET_ADDED"}`,
				422, fmt.Sprintf(`{"error":%q}`, `Invalid parameter 'trigger_events' value "ASSET_ADDED": Must be an array of `+allEvents)},
			{"create: method not allowed", "POST", "/api/v2/admin/webhooks", "admin",
				`{"name":"x","http_url":"https://example.website.com","http_method":"GET","trigger_events":["ASSET_ADDED"]}`,
				422, `{"error":"Invalid parameter 'http_method' value \"GET\": Must be one of: POST, PUT, PATCH"}`},
			{"create: not an http url", "POST", "/api/v2/admin/webhooks", "admin",
				`{"name":"x","http_url":"ftp://example.website.com","http_method":"POST","trigger_events":["ASSET_ADDED"]}`,
				422, `{"error":"Invalid parameter 'http_url' value \"ftp://example.website.com\": Must be an absolute http or https URL without credentials, at most 2048 characters"}`},
			{"create: relative url", "POST", "/api/v2/admin/webhooks", "admin",
				`{"name":"x","http_url":"/hooks","http_method":"POST","trigger_events":["ASSET_ADDED"]}`,
				422, `{"error":"Invalid parameter 'http_url' value \"/hooks\": Must be an absolute http or https URL without credentials, at most 2048 characters"}`},
			{"create: a port out of range", "POST", "/api/v2/admin/webhooks", "admin",
				`{"name":"x","http_url":"https://example.website.com:99999/","http_method":"POST","trigger_events":["ASSET_ADDED"]}`,
				422, `{"error":"Invalid parameter 'http_url' value \"https://example.website.com:99999/\": Must be an absolute http or https URL without credentials, at most 2048 characters"}`},
			{"create: port 0", "POST", "/api/v2/admin/webhooks", "admin",
				`{"name":"x","http_url":"http://example.website.com:0/","http_method":"POST","trigger_events":["ASSET_ADDED"]}`,
				422, `{"error":"Invalid parameter 'http_url' value \"http://example.website.com:0/\": Must be an absolute http or https URL without credentials, at most 2048 characters"}`},
			{"create: project_id not a string", "POST", "/api/v2/admin/webhooks", "admin",
				seedBody + `,"project_id":5}`, 422, `{"error":"Invalid parameter 'project_id' value 5: Must be a String"}`},

			{"list: not admin", "GET", "/api/v2/admin/webhooks", "none", "", 401, unauthorized},
			{"list", "GET", "/api/v2/admin/webhooks", "admin", "", 200,
				`{"webhooks":[` + strings.TrimSuffix(strings.TrimPrefix(webhookJSON("1", `"`+seedProject+`"`), `{"webhook":`), "}") +
					`,` + strings.TrimSuffix(strings.TrimPrefix(webhookJSON("2", "null"), `{"webhook":`), "}") + `]}`},
			{"list: by project", "GET", "/api/v2/admin/webhooks?project_id=" + seedProject, "admin", "", 200,
				`{"webhooks":[` + strings.TrimSuffix(strings.TrimPrefix(webhookJSON("1", `"`+seedProject+`"`), `{"webhook":`), "}") + `]}`},
			{"get", "GET", "/api/v2/admin/webhooks/2", "admin", "", 200, webhookJSON("2", "null")},
			{"get: not found", "GET", "/api/v2/admin/webhooks/-1", "admin", "", 404, notFoundWebhook},
			{"get: id not a number", "GET", "/api/v2/admin/webhooks/abc", "admin", "", 404, `{"error":"Couldn't find Webhook with 'id'=abc"}`},
			{"get: not admin", "GET", "/api/v2/admin/webhooks/1", "publisher", "", 401, unauthorized},

			{"update: with project (reference example 1)", "POST", "/api/v2/admin/webhooks/1", "admin",
				seedBody + `,"project_id":"` + updateProject + `"}`, 200, webhookJSON("1", `"`+updateProject+`"`)},
			{"update: without project keeps it", "POST", "/api/v2/admin/webhooks/1", "admin",
				seedBody + `}`, 200, webhookJSON("1", `"`+updateProject+`"`)},
			{"update: partial", "POST", "/api/v2/admin/webhooks/1", "admin",
				`{"name":"Renamed","disabled":true}`, 200, webhookJSON("1", `"`+updateProject+`"`, "name", `"Renamed"`, "disabled", "true")},
			{"update: project null clears it", "POST", "/api/v2/admin/webhooks/1", "admin",
				`{"project_id":null,"name":"Sample Webhook","disabled":false}`, 200, webhookJSON("1", "null")},
			{"update: unknown project", "POST", "/api/v2/admin/webhooks/1", "admin",
				`{"project_id":"nope"}`, 404, `{"error":"project not found"}`},
			{"update: invalid events", "POST", "/api/v2/admin/webhooks/1", "admin",
				`{"trigger_events":[]}`, 422, fmt.Sprintf(`{"error":%q}`, `Invalid parameter 'trigger_events' value []: Must be an array of `+allEvents)},
			{"update: rejected update changed nothing", "GET", "/api/v2/admin/webhooks/1", "admin", "", 200, webhookJSON("1", "null")},
			{"update: not found (reference example 4)", "POST", "/api/v2/admin/webhooks/-1", "admin", seedBody + "}", 404, notFoundWebhook},
			{"update: not admin", "POST", "/api/v2/admin/webhooks/1", "none", seedBody + "}", 401, unauthorized},

			{"success log", "GET", "/api/v2/admin/webhooks/1/success", "admin", "", 200, `{"success_log":[]}`},
			{"success log: paged", "GET", "/api/v2/admin/webhooks/1/success?page=2&per_page=10", "admin", "", 200, `{"success_log":[]}`},
			{"success log: bad page", "GET", "/api/v2/admin/webhooks/1/success?page=x", "admin", "", 422, `{"error":"Invalid parameter 'page' value \"x\": Must be a Integer"}`},
			{"success log: per_page too large", "GET", "/api/v2/admin/webhooks/1/success?per_page=1000", "admin", "", 422, `{"error":"Invalid parameter 'per_page' value \"1000\": Must be an Integer from 1 to 100"}`},
			{"success log: not found", "GET", "/api/v2/admin/webhooks/-1/success", "admin", "", 404, notFoundWebhook},
			{"success log: not admin", "GET", "/api/v2/admin/webhooks/1/success", "none", "", 401, unauthorized},
			{"failed log", "GET", "/api/v2/admin/webhooks/1/failed", "admin", "", 200, `{"failed_log":[]}`},
			{"failed log: not found", "GET", "/api/v2/admin/webhooks/-1/failed", "admin", "", 404, notFoundWebhook},
			{"failed log: not admin", "GET", "/api/v2/admin/webhooks/1/failed", "publisher", "", 401, unauthorized},

			{"add header (reference example)", "POST", "/api/v2/admin/webhooks/1/webhook_headers", "admin",
				`{"header_key":"test-key","header_value":"test-value","hidden":false,"is_hmac":false}`, 200,
				`{"webhook_header":{"id":1,"webhook_id":1,"header_key":"test-key","header_value":"test-value","hidden":false,"is_hmac":false,"created_at":"<time>","updated_at":"<time>"}}`},
			{"add header: missing header_value", "POST", "/api/v2/admin/webhooks/1/webhook_headers", "admin",
				`{"header_key":"test-key"}`, 422, `{"error":"Missing parameter header_value"}`},
			{"add header: missing header_key", "POST", "/api/v2/admin/webhooks/1/webhook_headers", "admin",
				`{"header_value":"v"}`, 422, `{"error":"Missing parameter header_key"}`},
			{"add header: webhook not found", "POST", "/api/v2/admin/webhooks/-1/webhook_headers", "admin",
				`{"header_key":"test-key","header_value":"test-value","hidden":false,"is_hmac":false}`, 404, notFoundWebhook},
			{"add header: not admin", "POST", "/api/v2/admin/webhooks/1/webhook_headers", "none", `{"header_key":"k","header_value":"v"}`, 401, unauthorized},
			{"add header: bad name", "POST", "/api/v2/admin/webhooks/1/webhook_headers", "admin",
				`{"header_key":"bad key","header_value":"v"}`, 422, "{\"error\":\"Invalid parameter 'header_key' value \\\"bad key\\\": Must be an HTTP header name (letters, digits and !#$%&'*+-.^_`|~)\"}"},
			{"add header: reserved name", "POST", "/api/v2/admin/webhooks/1/webhook_headers", "admin",
				`{"header_key":"webhook-signature","header_value":"v"}`, 422, ""},
			{"add header: hop-by-hop name", "POST", "/api/v2/admin/webhooks/1/webhook_headers", "admin",
				`{"header_key":"upgrade","header_value":"websocket","hidden":true}`, 422, reservedHeader("upgrade")},
			{"add header: proxy name", "POST", "/api/v2/admin/webhooks/1/webhook_headers", "admin",
				`{"header_key":"Proxy-Authorization","header_value":"Basic eA=="}`, 422, reservedHeader("Proxy-Authorization")},
			{"add header: value with a line break", "POST", "/api/v2/admin/webhooks/1/webhook_headers", "admin",
				`{"header_key":"X-Evil","header_value":"a\r\nInjected: yes"}`, 422, ""},
			{"add header: value with a control character", "POST", "/api/v2/admin/webhooks/1/webhook_headers", "admin",
				`{"header_key":"X-Ctl","header_value":"a\u0001b"}`, 422,
				`{"error":"Invalid parameter 'header_value' value \"a\\u0001b\": Must be a non-empty String of at most 4096 characters, without control characters"}`},
			{"add header: bad boolean", "POST", "/api/v2/admin/webhooks/1/webhook_headers", "admin",
				`{"header_key":"k","header_value":"v","hidden":"maybe"}`, 422, `{"error":"Invalid parameter 'hidden' value \"maybe\": Must be one of: true, false, 1, 0"}`},
			{"add hidden header shows its value once", "POST", "/api/v2/admin/webhooks/1/webhook_headers", "admin",
				`{"header_key":"Authorization","header_value":"Bearer s3cret","hidden":true}`, 200,
				`{"webhook_header":{"id":2,"webhook_id":1,"header_key":"Authorization","header_value":"Bearer s3cret","hidden":true,"is_hmac":false,"created_at":"<time>","updated_at":"<time>"}}`},
			{"add hmac header", "POST", "/api/v2/admin/webhooks/1/webhook_headers", "admin",
				`{"header_key":"X-Signature","header_value":"hmac-key","is_hmac":"1"}`, 200,
				`{"webhook_header":{"id":3,"webhook_id":1,"header_key":"X-Signature","header_value":"hmac-key","hidden":false,"is_hmac":true,"created_at":"<time>","updated_at":"<time>"}}`},
			{"update header", "POST", "/api/v2/admin/webhooks/1/webhook_headers/1", "admin",
				`{"header_value":"new-value"}`, 200,
				`{"webhook_header":{"id":1,"webhook_id":1,"header_key":"test-key","header_value":"new-value","hidden":false,"is_hmac":false,"created_at":"<time>","updated_at":"<time>"}}`},
			{"update header: hide it", "POST", "/api/v2/admin/webhooks/1/webhook_headers/1", "admin",
				`{"hidden":true}`, 200,
				`{"webhook_header":{"id":1,"webhook_id":1,"header_key":"test-key","header_value":null,"hidden":true,"is_hmac":false,"created_at":"<time>","updated_at":"<time>"}}`},
			{"update header: making a secret header plain needs a new value", "POST", "/api/v2/admin/webhooks/1/webhook_headers/2", "admin",
				`{"hidden":false}`, 422, `{"error":"A hidden or HMAC header's value is never shown again: send a new header_value to make it a plain header"}`},
			{"update header: making an hmac header plain needs a new value", "POST", "/api/v2/admin/webhooks/1/webhook_headers/3", "admin",
				`{"is_hmac":0}`, 422, changingIsHMAC},
			{"update header: to a reserved name", "POST", "/api/v2/admin/webhooks/1/webhook_headers/1", "admin",
				`{"header_key":"TE"}`, 422, reservedHeader("TE")},
			{"update header: an hmac header cannot become a hidden one without a new value", "POST", "/api/v2/admin/webhooks/1/webhook_headers/3", "admin",
				`{"is_hmac":false,"hidden":true}`, 422, changingIsHMAC},
			{"update header: a hidden header cannot become an hmac one without a new value", "POST", "/api/v2/admin/webhooks/1/webhook_headers/2", "admin",
				`{"is_hmac":true}`, 422, changingIsHMAC},
			{"update header: is_hmac unchanged needs no value", "POST", "/api/v2/admin/webhooks/1/webhook_headers/3", "admin",
				`{"is_hmac":true,"hidden":false}`, 200,
				`{"webhook_header":{"id":3,"webhook_id":1,"header_key":"X-Signature","header_value":null,"hidden":false,"is_hmac":true,"created_at":"<time>","updated_at":"<time>"}}`},
			{"update header: is_hmac with a new value", "POST", "/api/v2/admin/webhooks/1/webhook_headers/2", "admin",
				`{"is_hmac":true,"header_value":"new-hmac-key"}`, 200,
				`{"webhook_header":{"id":2,"webhook_id":1,"header_key":"Authorization","header_value":"new-hmac-key","hidden":true,"is_hmac":true,"created_at":"<time>","updated_at":"<time>"}}`},
			{"update header: not found", "POST", "/api/v2/admin/webhooks/1/webhook_headers/99", "admin",
				`{"header_value":"x"}`, 404, `{"error":"Couldn't find WebhookHeader with 'id'=99"}`},
			{"update header: of another webhook", "POST", "/api/v2/admin/webhooks/2/webhook_headers/1", "admin",
				`{"header_value":"x"}`, 404, `{"error":"Couldn't find WebhookHeader with 'id'=1"}`},
			{"webhook hides secret header values", "GET", "/api/v2/admin/webhooks/1", "admin", "", 200,
				webhookJSON("1", "null", "webhook_headers", `[
					{"id":1,"webhook_id":1,"header_key":"test-key","header_value":null,"hidden":true,"is_hmac":false,"created_at":"<time>","updated_at":"<time>"},
					{"id":2,"webhook_id":1,"header_key":"Authorization","header_value":null,"hidden":true,"is_hmac":true,"created_at":"<time>","updated_at":"<time>"},
					{"id":3,"webhook_id":1,"header_key":"X-Signature","header_value":null,"hidden":false,"is_hmac":true,"created_at":"<time>","updated_at":"<time>"}]`)},
			{"delete header", "DELETE", "/api/v2/admin/webhooks/1/webhook_headers/1", "admin", "", 200, `{"ok":"ok"}`},
			{"delete header: gone", "DELETE", "/api/v2/admin/webhooks/1/webhook_headers/1", "admin", "", 404, `{"error":"Couldn't find WebhookHeader with 'id'=1"}`},

			{"add user (reference example)", "POST", "/api/v2/admin/webhooks/2/webhook_users", "admin",
				`{"webhook_id":2,"user_id":45}`, 200, `{"webhook_user":{"id":1,"webhook_id":2,"user_id":45,"created_at":"<time>","updated_at":"<time>"}}`},
			{"add user: missing user_id", "POST", "/api/v2/admin/webhooks/2/webhook_users", "admin",
				`{"webhook_id":2}`, 422, `{"error":"Missing parameter user_id"}`},
			{"add user: not an integer", "POST", "/api/v2/admin/webhooks/2/webhook_users", "admin",
				`{"user_id":"abc"}`, 422, `{"error":"Invalid parameter 'user_id' value \"abc\": Must be a Integer"}`},
			{"add user: float", "POST", "/api/v2/admin/webhooks/2/webhook_users", "admin",
				`{"user_id":4.5}`, 422, `{"error":"Invalid parameter 'user_id' value 4.5: Must be a Integer"}`},
			{"add user: webhook not found (path wins)", "POST", "/api/v2/admin/webhooks/-1/webhook_users", "admin",
				`{"webhook_id":22,"user_id":48}`, 404, notFoundWebhook},
			{"add user: twice", "POST", "/api/v2/admin/webhooks/2/webhook_users", "admin",
				`{"user_id":"45"}`, 422, `{"error":"User 45 is already a user of this webhook"}`},
			{"add user: not admin", "POST", "/api/v2/admin/webhooks/2/webhook_users", "publisher", `{"user_id":1}`, 401, unauthorized},
			{"add second user", "POST", "/api/v2/admin/webhooks/2/webhook_users", "admin",
				`{"user_id":46}`, 200, `{"webhook_user":{"id":2,"webhook_id":2,"user_id":46,"created_at":"<time>","updated_at":"<time>"}}`},
			{"remove user", "DELETE", "/api/v2/admin/webhooks/2/webhook_users/2", "admin", "", 200, `{"ok":"ok"}`},
			{"remove user: gone", "DELETE", "/api/v2/admin/webhooks/2/webhook_users/2", "admin", "", 404, `{"error":"Couldn't find WebhookUser with 'id'=2"}`},
			{"webhook lists its users", "GET", "/api/v2/admin/webhooks/2", "admin", "", 200,
				webhookJSON("2", "null", "webhook_users", `[{"id":1,"webhook_id":2,"user_id":45,"created_at":"<time>","updated_at":"<time>"}]`)},

			{"delete webhook", "DELETE", "/api/v2/admin/webhooks/2", "admin", "", 200, `{"ok":"ok"}`},
			{"delete webhook: gone", "GET", "/api/v2/admin/webhooks/2", "admin", "", 404, `{"error":"Couldn't find Webhook with 'id'=2"}`},
			{"delete webhook: not found", "DELETE", "/api/v2/admin/webhooks/-1", "admin", "", 404, notFoundWebhook},
			{"delete webhook: not admin", "DELETE", "/api/v2/admin/webhooks/1", "publisher", "", 401, unauthorized},
		})
	})
}

var secretPattern = regexp.MustCompile(`^whsec_[A-Za-z0-9+/]{32}$`)

func TestSigningSecret(t *testing.T) {
	backends(t, func(t *testing.T, store hookd.Store) {
		a := newTestAPI(t, store)
		expect(t, a.do("POST", "/api/v2/admin/webhooks", a.adminKey, seedBody+"}"), 200, "")
		secretOf := func(res response) string {
			t.Helper()
			var v struct{ Secret string }
			if err := json.Unmarshal(res.body, &v); err != nil || !secretPattern.MatchString(v.Secret) {
				t.Fatalf("secret answer %s (%v)", res.body, err)
			}
			return v.Secret
		}
		first := secretOf(a.do("GET", "/api/v2/admin/webhooks/1/secret", a.adminKey, ""))
		if again := secretOf(a.do("GET", "/api/v2/admin/webhooks/1/secret", a.adminKey, "")); again != first {
			t.Errorf("secret changed without rotation: %s then %s", first, again)
		}
		rotated := secretOf(a.do("POST", "/api/v2/admin/webhooks/1/secret/rotate", a.adminKey, ""))
		if rotated == first {
			t.Error("rotation kept the secret")
		}
		if now := secretOf(a.do("GET", "/api/v2/admin/webhooks/1/secret", a.adminKey, "")); now != rotated {
			t.Errorf("secret after rotation is %s, want %s", now, rotated)
		}
		expect(t, a.do("GET", "/api/v2/admin/webhooks/-1/secret", a.adminKey, ""), 404, `{"error":"Couldn't find Webhook with 'id'=-1"}`)
		expect(t, a.do("POST", "/api/v2/admin/webhooks/1/secret/rotate", a.publisher, ""), 401, `{"error":"Unauthorized"}`)
		expect(t, a.do("GET", "/api/v2/admin/webhooks/1/secret", "", ""), http.StatusUnauthorized, `{"error":"Unauthorized"}`)
	})
}

// TestAddUserConcurrently adds one user from several clients at once:
// exactly one is added, the others get the duplicate error, none a 500.
func TestAddUserConcurrently(t *testing.T) {
	backends(t, func(t *testing.T, store hookd.Store) {
		a := newTestAPI(t, store)
		expect(t, a.do("POST", "/api/v2/admin/webhooks", a.adminKey, seedBody+"}"), 200, "")
		statuses := make(chan int, 8)
		for range 8 {
			go func() {
				statuses <- a.do("POST", "/api/v2/admin/webhooks/1/webhook_users", a.adminKey, `{"user_id":45}`).status
			}()
		}
		counts := map[int]int{}
		for range 8 {
			counts[<-statuses]++
		}
		if counts[200] != 1 || counts[422] != 7 {
			t.Errorf("statuses %v, want one 200 and seven 422", counts)
		}
	})
}

// reservedHeader is the answer to a reserved header_key.
func reservedHeader(key string) string {
	return fmt.Sprintf(`{"error":%q}`, fmt.Sprintf("Invalid parameter 'header_key' value %q: ", key)+
		"Must not be a header that hookd sets, nor one about the connection or for a proxy: "+
		"Content-Type, Content-Length, User-Agent, Host, Connection, Transfer-Encoding, Webhook-Id, Webhook-Timestamp, "+
		"Webhook-Signature, Traceparent, Tracestate, Upgrade, TE, Trailer, Keep-Alive or a name starting with Proxy-")
}
