package http_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/hookd/hookd"
)

// TestWebhookListParams checks hookd's optional parameters of the list:
// without them the answer is byte for byte MediaPocket's; with them it is
// searched, sorted and paged, the page's figures in headers.
func TestWebhookListParams(t *testing.T) {
	backends(t, func(t *testing.T, store hookd.Store) {
		a := newTestAPI(t, store)
		for _, name := range []string{"Orders", "billing", "Zed <script>", "orders archive"} {
			a.createWebhook(t, fmt.Sprintf(`{"name":%q,"http_url":"https://r.example/%d","http_method":"POST","trigger_events":["ASSET_ADDED"]}`,
				name, len(name)))
		}
		plain := a.do("GET", "/api/v2/admin/webhooks", a.adminKey, "")
		expect(t, plain, 200, "")
		if plain.header.Get("X-Total-Count") != "" || plain.header.Get("Link") != "" {
			t.Errorf("an unpaged list has page headers: %v", plain.header)
		}
		ids := func(res response) string {
			t.Helper()
			var v struct{ Webhooks []struct{ ID int64 } }
			mustJSON(t, res.body, &v)
			var out []string
			for _, w := range v.Webhooks {
				out = append(out, fmt.Sprint(w.ID))
			}
			return strings.Join(out, ",")
		}
		if got := ids(plain); got != "1,2,3,4" {
			t.Errorf("unpaged list: %s, want every webhook by id", got)
		}
		// The same list asked as one big page has the same body.
		whole := a.do("GET", "/api/v2/admin/webhooks?page=1&per_page=100", a.adminKey, "")
		if string(whole.body) != string(plain.body) {
			t.Errorf("one big page differs from the plain list:\n%s\n%s", whole.body, plain.body)
		}

		res := a.do("GET", "/api/v2/admin/webhooks?q=ORDERS&sort=-name", a.adminKey, "")
		expect(t, res, 200, "")
		if got := ids(res); got != "4,1" {
			t.Errorf("search orders, by name descending: %s, want 4,1", got)
		}
		res = a.do("GET", "/api/v2/admin/webhooks?sort=name&per_page=2&page=2", a.adminKey, "")
		expect(t, res, 200, "")
		if got := ids(res); got != "4,3" {
			t.Errorf("page 2 by name: %s, want 4,3", got)
		}
		if got := res.header.Get("X-Total-Count"); got != "4" {
			t.Errorf("X-Total-Count %q, want 4", got)
		}
		wantLink := `</api/v2/admin/webhooks?page=1&per_page=2&sort=name>; rel="first", ` +
			`</api/v2/admin/webhooks?page=1&per_page=2&sort=name>; rel="prev", ` +
			`</api/v2/admin/webhooks?page=2&per_page=2&sort=name>; rel="last"`
		if got := res.header.Get("Link"); got != wantLink {
			t.Errorf("Link\n got %s\nwant %s", got, wantLink)
		}

		long := strings.Repeat("x", 2049)
		const ruleSearch = "Must be a String of valid UTF-8, without control characters"
		a.run(t, []step{
			{"unknown sort", "GET", "/api/v2/admin/webhooks?sort=url", "admin", "", 422,
				`{"error":"Invalid parameter 'sort' value \"url\": Must be one of: id, -id, name, -name, created_at, -created_at, last_run_at, -last_run_at"}`},
			{"page 0", "GET", "/api/v2/admin/webhooks?page=0", "admin", "", 422,
				`{"error":"Invalid parameter 'page' value \"0\": Must be a positive Integer"}`},
			{"per_page too big", "GET", "/api/v2/admin/webhooks?per_page=1000", "admin", "", 422,
				`{"error":"Invalid parameter 'per_page' value \"1000\": Must be an Integer from 1 to 100"}`},
			{"search too long", "GET", "/api/v2/admin/webhooks?q=" + long, "admin", "", 422, ""},
			{"search for a wildcard", "GET", "/api/v2/admin/webhooks?q=%25", "admin", "", 200, `{"webhooks":[]}`},
			// A search that is not valid UTF-8 or holds a control character
			// never reaches LIKE: PostgreSQL refuses both (a 500), SQLite's
			// LIKE stops at NUL (every webhook).
			{"search for NUL", "GET", "/api/v2/admin/webhooks?q=%00", "admin", "", 422,
				`{"error":"Invalid parameter 'q' value \"\\u0000\": ` + ruleSearch + `"}`},
			{"search not UTF-8", "GET", "/api/v2/admin/webhooks?q=%ff", "admin", "", 422,
				`{"error":"Invalid parameter 'q' value \"\ufffd\": ` + ruleSearch + `"}`},
			{"search with a control character", "GET", "/api/v2/admin/webhooks?q=Ord%1Bers", "admin", "", 422,
				`{"error":"Invalid parameter 'q' value \"Ord\\eers\": ` + ruleSearch + `"}`},
			{"search with DEL", "GET", "/api/v2/admin/webhooks?q=orders%7F", "admin", "", 422,
				`{"error":"Invalid parameter 'q' value \"orders\\u007F\": ` + ruleSearch + `"}`},
			{"unknown health", "GET", "/api/v2/admin/webhooks?health=sick", "admin", "", 422,
				`{"error":"Invalid parameter 'health' value \"sick\": Must be one of: failing, circuit_open"}`},
			{"no failing webhook", "GET", "/api/v2/admin/webhooks?health=failing", "admin", "", 200, `{"webhooks":[]}`},
			{"no_project not a boolean", "GET", "/api/v2/admin/webhooks?no_project=maybe", "admin", "", 422, ""},
			{"a page past the end", "GET", "/api/v2/admin/webhooks?page=99", "admin", "", 200, `{"webhooks":[]}`},
		})
	})
}

func mustJSON(t *testing.T, body []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
}
