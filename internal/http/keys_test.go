package http_test

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/clocktest"
	hookdhttp "github.com/hookd/hookd/internal/http"
)

var keyPattern = regexp.MustCompile(`^[A-Za-z0-9]{5}\.[A-Za-z0-9_-]{43}$`)

func TestAPIKeys(t *testing.T) {
	backends(t, func(t *testing.T, store hookd.Store) {
		a := newTestAPI(t, store)
		res := a.do("POST", "/api/v2/user/api_keys", a.adminKey, `{"name":"test api key"}`)
		expect(t, res, 200, "")
		var created struct {
			APIKey string `json:"api_key"`
		}
		if err := json.Unmarshal(res.body, &created); err != nil || !keyPattern.MatchString(created.APIKey) {
			t.Fatalf("created key %s (%v)", res.body, err)
		}
		// The new key works, and its use is recorded.
		expect(t, a.do("GET", "/api/v2/admin/webhooks", created.APIKey, ""), 200, `{"webhooks":[]}`)

		res = a.do("GET", "/api/v2/user/api_keys", a.adminKey, "")
		expect(t, res, 200, "")
		var list struct {
			APIKeys []struct {
				ID         int64   `json:"id"`
				KeyPrefix  string  `json:"key_prefix"`
				Name       string  `json:"name"`
				LastAccess *string `json:"last_access"`
			} `json:"api_keys"`
		}
		if err := json.Unmarshal(res.body, &list); err != nil {
			t.Fatal(err)
		}
		if len(list.APIKeys) != 3 {
			t.Fatalf("listed %d keys, want the admin, publisher and new key: %s", len(list.APIKeys), res.body)
		}
		newest := list.APIKeys[2]
		if newest.Name != "test api key" || newest.KeyPrefix != created.APIKey[:5] || newest.LastAccess == nil {
			t.Errorf("new key listed as %+v", newest)
		}

		expect(t, a.do("POST", "/api/v2/user/api_keys", a.adminKey, `{}`), 422, `{"error":"Missing parameter name"}`)
		expect(t, a.do("POST", "/api/v2/user/api_keys", a.adminKey, `{"name":null}`), 422, `{"error":"Invalid parameter 'name' value nil: Must be a String"}`)
		// The bootstrap key's name is how hookd finds the key to revoke when HOOKD_ADMIN_API_KEY changes.
		expect(t, a.do("POST", "/api/v2/user/api_keys", a.adminKey, `{"name":"bootstrap (HOOKD_ADMIN_API_KEY)"}`), 422,
			`{"error":"Invalid parameter 'name' value \"bootstrap (HOOKD_ADMIN_API_KEY)\": Must not be the name of the key that hookd registers from HOOKD_ADMIN_API_KEY"}`)
		expect(t, a.do("GET", "/api/v2/user/api_keys", a.publisher, ""), 401, `{"error":"Unauthorized"}`)
		expect(t, a.do("DELETE", "/api/v2/user/api_keys/not-found-id", a.adminKey, ""), 404,
			`{"error":"Couldn't find ApiKey with 'id'=not-found-id [WHERE \"api_keys\".\"user_id\" = $1]"}`)
		expect(t, a.do("DELETE", "/api/v2/user/api_keys/"+itoa(newest.ID), a.adminKey, ""), 200, `{"ok":"ok"}`)
		// A deleted key no longer opens anything.
		expect(t, a.do("GET", "/api/v2/admin/webhooks", created.APIKey, ""), 401, `{"error":"Unauthorized"}`)
		expect(t, a.do("DELETE", "/api/v2/user/api_keys/"+itoa(newest.ID), a.adminKey, ""), 404, "")
	})
}

func TestProjects(t *testing.T) {
	backends(t, func(t *testing.T, store hookd.Store) {
		a := newTestAPI(t, store)
		project := `{"id":"Gri9DeG1yV5jD2n2nlJF","external_id":null,"project_id":null,"owner":null,"title":"Sample Project",
			"description":null,"category":null,"tags":[],"media_type":"project","isPublic":false,"thumbnail_asset_id":null,
			"created_date":"<time>","modification_date":"<time>","deleted":null,"original_title":"Sample Project"}`
		a.run(t, []step{
			{"get: not found", "GET", "/api/v2/projects/not-found-id", "admin", "", 404, `{"error":"project not found"}`},
			{"create", "POST", "/api/v2/admin/projects", "admin", `{"id":"Gri9DeG1yV5jD2n2nlJF","title":"Sample Project"}`, 200, `{"project":` + project + `}`},
			{"create: exists", "POST", "/api/v2/admin/projects", "admin", `{"id":"Gri9DeG1yV5jD2n2nlJF","title":"Again"}`, 422, `{"error":"project Gri9DeG1yV5jD2n2nlJF already exists"}`},
			{"create: bad id", "POST", "/api/v2/admin/projects", "admin", `{"id":"a b","title":"x"}`, 422,
				`{"error":"Invalid parameter 'id' value \"a b\": Must be a String of 1 to 64 characters from A-Z, a-z, 0-9, _ and -"}`},
			{"create: missing title", "POST", "/api/v2/admin/projects", "admin", `{"id":"abc"}`, 422, `{"error":"Missing parameter title"}`},
			{"create: not admin", "POST", "/api/v2/admin/projects", "publisher", `{"title":"x"}`, 401, `{"error":"Unauthorized"}`},
			{"get (MediaPocket shape)", "GET", "/api/v2/projects/Gri9DeG1yV5jD2n2nlJF", "admin", "", 200, `{"project":` + project + `}`},
			{"get with a publisher key", "GET", "/api/v2/projects/Gri9DeG1yV5jD2n2nlJF", "publisher", "", 200, `{"project":` + project + `}`},
			{"get: no key", "GET", "/api/v2/projects/Gri9DeG1yV5jD2n2nlJF", "none", "", 401, `{"error":"Unauthorized"}`},
			{"list", "GET", "/api/v2/admin/projects", "admin", "", 200, `{"projects":[` + project + `]}`},
			{"delete", "DELETE", "/api/v2/admin/projects/Gri9DeG1yV5jD2n2nlJF", "admin", "", 200, `{"ok":"ok"}`},
			{"delete: gone", "DELETE", "/api/v2/admin/projects/Gri9DeG1yV5jD2n2nlJF", "admin", "", 404, `{"error":"project not found"}`},
			{"list: empty", "GET", "/api/v2/admin/projects", "admin", "", 200, `{"projects":[]}`},
			// Ids that no project can have (PostgreSQL refuses to compare
			// invalid UTF-8 or a NUL: a 500 once) are not found.
			{"get: not UTF-8", "GET", "/api/v2/projects/%FF", "publisher", "", 404, `{"error":"project not found"}`},
			{"get: a NUL", "GET", "/api/v2/projects/a%00b", "publisher", "", 404, `{"error":"project not found"}`},
			{"delete: not UTF-8", "DELETE", "/api/v2/admin/projects/%FF", "admin", "", 404, `{"error":"project not found"}`},
		})
		// A project created without an id gets a MediaPocket-style one.
		res := a.do("POST", "/api/v2/admin/projects", a.adminKey, `{"title":"Generated"}`)
		var v struct{ Project struct{ ID string } }
		if err := json.Unmarshal(res.body, &v); err != nil || !regexp.MustCompile(`^[A-Za-z0-9_-]{20}$`).MatchString(v.Project.ID) {
			t.Errorf("generated project %s", res.body)
		}
	})
}

// The registry is listed a page at a time: limit, q and after, each
// checked, and an after no longer registered is a 404.
func TestProjectPages(t *testing.T) {
	backends(t, func(t *testing.T, store hookd.Store) {
		a := newTestAPI(t, store)
		for _, id := range []string{"p1", "p2", "p3"} {
			expect(t, a.do("POST", "/api/v2/admin/projects", a.adminKey, `{"id":"`+id+`","title":"Title of `+id+`"}`), 200, "")
		}
		ids := func(path string) string {
			t.Helper()
			res := a.do("GET", path, a.adminKey, "")
			var v struct{ Projects []struct{ ID string } }
			if err := json.Unmarshal(res.body, &v); err != nil || res.status != 200 {
				t.Fatalf("GET %s: %d %s", path, res.status, res.body)
			}
			var out []string
			for _, p := range v.Projects {
				out = append(out, p.ID)
			}
			return strings.Join(out, ",")
		}
		for path, want := range map[string]string{
			"/api/v2/admin/projects":                          "p1,p2,p3",
			"/api/v2/admin/projects?limit=2":                  "p1,p2",
			"/api/v2/admin/projects?limit=2&after=p2":         "p3",
			"/api/v2/admin/projects?q=OF+P2":                  "p2",
			"/api/v2/admin/projects?q=%25":                    "",
			"/api/v2/admin/projects?q=title&after=p1":         "p2,p3",
			"/api/v2/admin/projects?limit=1000&q=%20title%20": "p1,p2,p3",
		} {
			if got := ids(path); got != want {
				t.Errorf("GET %s = %q, want %q", path, got, want)
			}
		}
		// A full page links to the next; the last one does not.
		if link := a.do("GET", "/api/v2/admin/projects?limit=2&q=title", a.adminKey, "").header.Get("Link"); link != `</api/v2/admin/projects?after=p2&limit=2&q=title>; rel="next"` {
			t.Errorf("Link of a full page = %q", link)
		}
		if link := a.do("GET", "/api/v2/admin/projects?limit=2&after=p2", a.adminKey, "").header.Get("Link"); link != "" {
			t.Errorf("Link of the last page = %q, want none", link)
		}
		a.run(t, []step{
			{"limit 0", "GET", "/api/v2/admin/projects?limit=0", "admin", "", 422,
				`{"error":"Invalid parameter 'limit' value \"0\": Must be an Integer from 1 to 1000"}`},
			{"limit too large", "GET", "/api/v2/admin/projects?limit=1001", "admin", "", 422,
				`{"error":"Invalid parameter 'limit' value \"1001\": Must be an Integer from 1 to 1000"}`},
			{"limit not a number", "GET", "/api/v2/admin/projects?limit=x", "admin", "", 422, ""},
			{"after: bad form", "GET", "/api/v2/admin/projects?after=a%20b", "admin", "", 422,
				`{"error":"Invalid parameter 'after' value \"a b\": Must be a String of 1 to 64 characters from A-Z, a-z, 0-9, _ and -"}`},
			{"after: not registered", "GET", "/api/v2/admin/projects?after=gone", "admin", "", 404, `{"error":"project not found"}`},
			{"q with a control character", "GET", "/api/v2/admin/projects?q=a%00b", "admin", "", 422, ""},
			{"not admin", "GET", "/api/v2/admin/projects?limit=1", "publisher", "", 401, `{"error":"Unauthorized"}`},
		})
	})
}

// A key revoked through one process is refused there at once, and by every
// other process on the database within hookd.KeyStaleness, although each
// serves keys from memory.
func TestRevocationReachesEveryProcess(t *testing.T) {
	backends(t, func(t *testing.T, store hookd.Store) {
		clock := clocktest.New(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
		a := newTestAPI(t, store, hookdhttp.WithClock(clock))
		other := newTestAPI(t, store, hookdhttp.WithClock(clock)) // a second process: a cache of its own
		key, err := hookd.IssueAPIKey(context.Background(), store, hookd.DefaultUserID, "to revoke", hookd.RoleAdmin)
		if err != nil {
			t.Fatal(err)
		}
		expect(t, other.do("GET", "/api/v2/admin/webhooks", key, ""), 200, "")
		expect(t, a.do("GET", "/api/v2/admin/webhooks", key, ""), 200, "")

		keys, err := store.ListAPIKeys(context.Background(), hookd.DefaultUserID)
		if err != nil {
			t.Fatal(err)
		}
		id := keys[len(keys)-1].ID
		expect(t, a.do("DELETE", "/api/v2/user/api_keys/"+itoa(id), a.adminKey, ""), 200, `{"ok":"ok"}`)
		expect(t, a.do("GET", "/api/v2/admin/webhooks", key, ""), 401, `{"error":"Unauthorized"}`)

		// The other process serves its copy, without reading the store,
		// until the copy is KeyStaleness old.
		clock.Advance(hookd.KeyStaleness - time.Millisecond)
		expect(t, other.do("GET", "/api/v2/admin/webhooks", key, ""), 200, "")
		clock.Advance(time.Millisecond)
		expect(t, other.do("GET", "/api/v2/admin/webhooks", key, ""), 401, `{"error":"Unauthorized"}`)
	})
}
