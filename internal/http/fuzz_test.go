package http_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookd/hookd"
	hookdhttp "github.com/hookd/hookd/internal/http"
	"github.com/hookd/hookd/internal/sqlite"
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

// fuzzSeeds are bodies for every JSON input: webhooks, headers, users,
// events and batches, projects, keys and actions, valid and not.
var fuzzSeeds = []string{
	// webhooks
	seedBody + `,"project_id":"GsrwPNm6nJ7CKRYnQZl6"}`,
	seedBody + "}",
	seedBody + `,"project_id":"not-registered"}`,
	`{"name":"Sample Webhook","http_url":null,"http_method":"POST","trigger_events":["ASSET_ADDED"]}`,
	`{"name":"x","http_url":"ftp://example.com","http_method":"GET","trigger_events":[]}`,
	`{"name":"x","http_url":"https://example.com","http_method":"POST","trigger_events":["ASSET_ADDED","NOPE"]}`,
	`{"disabled":true}`, `{"disabled":"yes"}`, `{"project_id":null}`,
	`{"name":{"a":[1,2.5e300,null,true]},"trigger_events":[["x"]]}`,
	// headers
	`{"header_key":"test-key","header_value":"test-value","hidden":false,"is_hmac":false}`,
	`{"header_key":"X-Sig","header_value":"k","is_hmac":true}`,
	`{"header_key":"Content-Type","header_value":"text/plain"}`,
	`{"header_key":"X-Bad","header_value":"a\r\nInjected: 1"}`,
	`{"header_key":"bad key","header_value":"v"}`,
	`{"header_key":"","header_value":""}`,
	`{"hidden":1}`,
	// users
	`{"webhook_id":20,"user_id":45}`, `{"user_id":1}`, `{"user_id":-1}`, `{"user_id":1.5}`,
	`{"user_id":"99999999999999999999999"}`, `{"user_id":99999999999999999999999}`, `{"user_id":null}`,
	// events
	`{"event":"ASSET_ADDED","project_id":"p1","user_id":45,"data":{"asset_id":"a"}}`,
	`{"id":"evt_fuzz","event":"ASSET_ADDED"}`,
	`{"event":"PROJECT_ADDED","project_id":"fuzz-project","data":{"title":"t"}}`,
	`{"event":"PROJECT_PURGED","project_id":"GsrwPNm6nJ7CKRYnQZl6"}`,
	`{"event":"ASSET_ADDED","data":[1]}`, `{"event":"ASSET_ADDED","user_id":"7"}`,
	`{"events":[{"event":"ASSET_ADDED"},{"event":"NOPE"}]}`,
	`{"events":[{"id":"evt_b1","event":"ASSET_ADDED"},{"id":"evt_b2","event":"ASSET_ADDED","data":"x"}]}`,
	`{"events":[]}`, `{"events":{}}`,
	`{"\u0065vent":"ASSET_ADDED","x":[{"]":"}\\"}],"id":"a\"b","id":"c"}`,
	`{"id":"k-\ud800","event":"ASSET_ADDED"}`, `{"id":"\ud83d\ude00","event":"ASSET_ADDED"}`,
	` {"events" : [ {"event":"ASSET_ADDED","data":{"[":"{"}} , {"event":"ASSET_ADDED"} ] , "events2":1} `,
	// projects, keys, actions
	`{"id":"GsrwPNm6nJ7CKRYnQZl6","title":"again"}`, `{"title":"new"}`, `{"id":"bad id!","title":"x"}`,
	`{"name":"fuzz key"}`, `{"name":""}`,
	`{"from":"2023-11-27T09:42:39.937Z","to":"x"}`, `{"event":"NOPE"}`,
	// not objects
	`[]`, `"x"`, `{`, ``, `{"a":1} {"b":2}`, strings.Repeat("[", 20000),
}

// FuzzRequestValidation sends arbitrary bodies to every JSON endpoint: the
// answer is always a 200 or a 4xx in the error shape, never a 5xx or a
// panic, and an answer other than 200 leaves the database as it was, row
// for row. Its seed corpus runs with the normal tests.
func FuzzRequestValidation(f *testing.F) {
	for i := range fuzzRoutes {
		for _, body := range fuzzSeeds {
			f.Add(uint8(i), body)
		}
	}
	path := filepath.Join(f.TempDir(), "fuzz.db")
	store, err := sqlite.Open(context.Background(), path)
	if err != nil {
		f.Fatal(err)
	}
	defer store.Close()
	db := openSnapshotDB(f, path)
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
	// Webhook 1 with header 1 and user 1, in a registered project, so that
	// updates and duplicates reach the store.
	for _, setup := range [][2]string{
		{"/api/v2/admin/projects", `{"id":"GsrwPNm6nJ7CKRYnQZl6","title":"Sample project"}`},
		{fuzzRoutes[0], seedBody + `,"project_id":"GsrwPNm6nJ7CKRYnQZl6"}`},
		{"/api/v2/admin/webhooks/1/webhook_headers", `{"header_key":"X-Existing","header_value":"v","hidden":true}`},
		{"/api/v2/admin/webhooks/1/webhook_users", `{"user_id":1}`},
	} {
		if rec := post(setup[0], setup[1]); rec.Code != 200 {
			f.Fatalf("setup %s: %d %s", setup[0], rec.Code, rec.Body)
		}
	}

	f.Fuzz(func(t *testing.T, route uint8, body string) {
		path := fuzzRoutes[int(route)%len(fuzzRoutes)]
		before := snapshotDB(t, db)
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
			if after := snapshotDB(t, db); !maps.Equal(before, after) {
				for table := range after {
					if before[table] != after[table] {
						t.Errorf("table %s changed", table)
					}
				}
				t.Fatalf("POST %s %q answered %d %s and changed the database", path, body, rec.Code, rec.Body)
			}
		}
	})
}

// openSnapshotDB opens a read-only connection of its own to the SQLite file
// at path, to read what the store committed.
func openSnapshotDB(tb testing.TB, path string) *sql.DB {
	tb.Helper()
	db, err := sql.Open("sqlite", path+"?_query_only=1")
	if err != nil {
		tb.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	tb.Cleanup(func() { db.Close() })
	return db
}

// snapshotDB returns a digest of every row of every table, by table.
// api_keys.last_access is left out: the API records a key's use (once a
// minute) whatever the answer.
func snapshotDB(t *testing.T, db *sql.DB) map[string]string {
	t.Helper()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	out := make(map[string]string, len(tables))
	for _, table := range tables {
		rows, err := db.Query(`SELECT * FROM "` + table + `" ORDER BY rowid`)
		if err != nil {
			// A WITHOUT ROWID table: its primary key orders it.
			rows, err = db.Query(`SELECT * FROM "` + table + `" ORDER BY 1`)
		}
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		h := sha256.New()
		values := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range values {
			ptrs[i] = &values[i]
		}
		n := 0
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range values {
				if cols[i] != "last_access" {
					fmt.Fprintf(h, "%s=%#v;", cols[i], v)
				}
			}
			h.Write([]byte{'\n'})
			n++
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		out[table] = fmt.Sprintf("%d rows %x", n, h.Sum(nil))
	}
	return out
}
