package web

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/hookd/hookd"
)

func TestFamiliesCoverTheCatalogOnce(t *testing.T) {
	fams := Families(hookd.EventNames)
	seen := map[string]string{}
	for _, f := range fams {
		if len(f.Events) == 0 {
			t.Errorf("family %s is empty", f.ID)
		}
		for _, e := range f.Events {
			if other, ok := seen[e]; ok {
				t.Errorf("%s is in %s and %s", e, other, f.ID)
			}
			seen[e] = f.ID
		}
	}
	if len(seen) != len(hookd.EventNames) || len(hookd.EventNames) != 123 {
		t.Fatalf("families hold %d events, the catalog %d (want 123)", len(seen), len(hookd.EventNames))
	}
	// Within a family, the catalog's order is kept.
	pos := map[string]int{}
	for i, e := range hookd.EventNames {
		pos[e] = i
	}
	for _, f := range fams {
		for i := 1; i < len(f.Events); i++ {
			if pos[f.Events[i-1]] > pos[f.Events[i]] {
				t.Errorf("family %s out of order at %s", f.ID, f.Events[i])
			}
		}
	}
	want := map[string]string{
		"ASSET_ADDED":                         "ASSET_",
		"PROJECT_ADDED":                       "PROJECT_",
		"USER_ADDED":                          "USER_",
		"USER_GROUP_ADDED":                    "USER_GROUP_",
		"USER_ROLE_EDITED":                    "USER_ROLE_",
		"COLLECTION_CREATED":                  "COLLECTION_",
		"DROP_FOLDER_ADDED":                   "DROP_FOLDER_",
		"INCOMING_ASSET_ADDED_TO_DROP_FOLDER": "DROP_FOLDER_",
		"FIELD_GROUP_ADDED":                   "FIELD_",
		"LOADER_PING":                         "LOADER_",
		"API_KEY_ADDED":                       "API_KEY_",
		"STARTED_DAG_ACTION_RUN":              "DAG_ACTION_RUN",
		"PERMISSION_EDITED":                   "OTHER",
		"NOTIFICATION_ADDED":                  "OTHER",
	}
	for e, f := range want {
		if seen[e] != f {
			t.Errorf("%s is in %q, want %q", e, seen[e], f)
		}
	}
}

func TestEventsModule(t *testing.T) {
	js := string(EventsModule())
	for _, want := range []string{
		"export const EVENT_NAMES = Object.freeze([\"ASSET_REMOVED_FAVORITE\",",
		"\"UPDATED_DAG_ACTION_RUN\"]);",
		"export const EVENT_FAMILIES = Object.freeze([",
		"\"label\": \"Assets\"",
		`export const NOTIFICATION_KINDS = Object.freeze(["webhook.disabled","circuit.opened","circuit.closed","delivery.failed","replay.finished"]);`,
	} {
		if !strings.Contains(js, want) {
			t.Errorf("events.js lacks %q", want)
		}
	}
}

func get(t *testing.T, h http.Handler, method, path string, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, path, nil)
	for k, v := range header {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestHandler(t *testing.T) {
	h := Handler()
	w := get(t, h, "GET", "/", nil)
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("GET / = %d %s", w.Code, w.Header().Get("Content-Type"))
	}
	if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") ||
		!strings.Contains(csp, "require-trusted-types-for 'script'; trusted-types 'none'") {
		t.Errorf("CSP %q", csp)
	}
	if w.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Error("no nosniff")
	}
	body := w.Body.String()
	// Every file index.html names is served, and nothing comes from elsewhere.
	for _, m := range regexp.MustCompile(`(?:src|href)="([^"#]+)"`).FindAllStringSubmatch(body, -1) {
		if !strings.HasPrefix(m[1], AssetsPrefix) {
			t.Errorf("index.html refers to %s outside %s", m[1], AssetsPrefix)
			continue
		}
		if c := get(t, h, "GET", m[1], nil).Code; c != 200 {
			t.Errorf("GET %s = %d", m[1], c)
		}
	}
	for path, f := range files {
		if strings.Contains(string(f.body), "http://") && !strings.HasSuffix(path, ".svg") && !strings.HasSuffix(path, "dom.js") {
			t.Errorf("%s mentions an http:// address", path)
		}
		// The webhook and subscription forms show an example URL as a
		// placeholder; nothing else names another host.
		if strings.Contains(string(f.body), "https://") && !strings.HasSuffix(path, "/form.js") && !strings.HasSuffix(path, "/notifications.js") {
			t.Errorf("%s mentions an https:// address", path)
		}
	}

	js := get(t, h, "GET", "/assets/app.js", nil)
	if ct := js.Header().Get("Content-Type"); ct != "text/javascript; charset=utf-8" {
		t.Errorf("app.js Content-Type %q", ct)
	}
	etag := js.Header().Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	if c := get(t, h, "GET", "/assets/app.js", http.Header{"If-None-Match": {etag}}).Code; c != http.StatusNotModified {
		t.Errorf("revalidation = %d, want 304", c)
	}
	if c := get(t, h, "GET", "/assets/events.js", nil).Code; c != 200 {
		t.Errorf("events.js = %d", c)
	}
	if c := get(t, h, "GET", "/assets/nope.js", nil).Code; c != 404 {
		t.Errorf("unknown asset = %d", c)
	}
	if c := get(t, h, "POST", "/", nil).Code; c != 405 {
		t.Errorf("POST / = %d", c)
	}
}

func TestMountLeavesTheAPIAlone(t *testing.T) {
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-From", "api")
		w.WriteHeader(http.StatusTeapot)
	})
	h := Mount(api)
	for _, tc := range []struct {
		method, path string
		ui           bool
	}{
		{"GET", "/", true},
		{"HEAD", "/", true},
		{"GET", "/assets/style.css", true},
		{"GET", "/assets/events.js", true},
		{"POST", "/", false},
		{"GET", "/healthz", false},
		{"GET", "/readyz", false},
		{"GET", "/metrics", false},
		{"GET", "/api/v2/admin/webhooks", false},
		{"POST", "/api/v2/events", false},
		{"GET", "/index.html", false},
		{"GET", "/assets/missing.js", false},
		{"GET", "/nope", false},
	} {
		w := get(t, h, tc.method, tc.path, nil)
		fromAPI := w.Header().Get("X-From") == "api"
		if fromAPI == tc.ui {
			t.Errorf("%s %s: served by the API = %v, want %v", tc.method, tc.path, fromAPI, !tc.ui)
		}
	}
}
