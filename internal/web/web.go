// Package web serves hookd's admin UI: plain HTML, CSS and JavaScript
// modules embedded in the binary, with no build step and nothing fetched
// from elsewhere. The UI signs in with an admin API key and uses the same
// public API as every other client; it has no endpoint of its own beyond its
// static files and events.js, the event catalog generated from
// hookd.EventNames.
//
// The UI owns "/" and "/assets/"; Mount puts it in front of the API handler
// and leaves every other path to the API.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/hookd/hookd"
)

//go:embed static
var static embed.FS

// AssetsPrefix is the path under which the UI's files are served.
const AssetsPrefix = "/assets/"

// contentSecurityPolicy allows nothing but the UI's own files and calls to
// its own origin: no inline script or style, no third-party host. Trusted
// Types with no policy make the browser refuse every string-to-HTML or
// string-to-script sink (innerHTML, eval, ...), so the UI's rule that text
// goes in as text (dom.js) holds in the browser, not only by review.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; " +
	"require-trusted-types-for 'script'; trusted-types 'none'"

type file struct {
	body        []byte
	contentType string
	etag        string
}

// files maps a request path to its content: "/" is index.html, the other
// files are under AssetsPrefix.
var files = loadFiles()

func loadFiles() map[string]*file {
	out := map[string]*file{}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "static/")
		urlPath := AssetsPrefix + name
		if name == "index.html" {
			urlPath = "/"
		}
		out[urlPath] = newFile(name, body)
		return nil
	})
	if err != nil {
		panic("web: reading the embedded files: " + err.Error())
	}
	out[AssetsPrefix+"events.js"] = newFile("events.js", EventsModule())
	return out
}

func newFile(name string, body []byte) *file {
	ctype := mime.TypeByExtension(path.Ext(name))
	switch path.Ext(name) {
	case ".js":
		ctype = "text/javascript; charset=utf-8"
	case ".svg":
		ctype = "image/svg+xml"
	case "":
		ctype = "application/octet-stream"
	}
	sum := sha256.Sum256(body)
	return &file{body: body, contentType: ctype, etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`}
}

// Handler serves the UI: index.html at "/" and its files under
// AssetsPrefix. Browsers revalidate every file (ETag), so a new hookd
// binary's UI is picked up at once. Other paths answer 404.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Type", f.contentType)
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", f.etag)
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
	})
}

// Serves reports whether Handler answers r with one of the UI's files.
func Serves(r *http.Request) bool {
	_, ok := files[r.URL.Path]
	return ok && (r.Method == http.MethodGet || r.Method == http.MethodHead)
}

// Mount returns a handler that serves the UI's own paths (GET and HEAD of
// "/" and the files under AssetsPrefix) and passes every other request to
// api, so the API's routes, its health checks and its JSON 404 and 405
// answers stay as they are.
func Mount(api http.Handler) http.Handler {
	ui := Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if Serves(r) {
			ui.ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
	})
}

// Family is a group of trigger events that share a prefix, as the webhook
// form shows them.
type Family struct {
	ID     string   `json:"id"`    // the prefix, e.g. "ASSET_"
	Label  string   `json:"label"` // e.g. "Assets"
	Events []string `json:"events"`
}

// families lists the groups in display order. An event belongs to the
// first family whose match accepts it; the last one takes the rest.
var families = []struct {
	id, label string
	match     func(name string) bool
}{
	{"ASSET_", "Assets", prefix("ASSET_")},
	{"PROJECT_", "Projects", prefix("PROJECT_")},
	{"USER_GROUP_", "User groups", prefix("USER_GROUP_")},
	{"USER_ROLE_", "User roles", prefix("USER_ROLE_")},
	{"USER_", "Users", prefix("USER_")},
	{"COLLECTION_", "Collections", prefix("COLLECTION_")},
	// INCOMING_ and OUTGOING_ASSET_ADDED_TO_DROP_FOLDER are drop folder
	// events although they do not start with the prefix.
	{"DROP_FOLDER_", "Drop folders", func(n string) bool {
		return strings.HasPrefix(n, "DROP_FOLDER_") || strings.HasSuffix(n, "_TO_DROP_FOLDER")
	}},
	{"FIELD_", "Fields and field groups", prefix("FIELD_")},
	{"LOADER_", "Loaders", prefix("LOADER_")},
	{"API_KEY_", "API keys", prefix("API_KEY_")},
	{"DAG_ACTION_RUN", "DAG action runs", func(n string) bool { return strings.HasSuffix(n, "_DAG_ACTION_RUN") }},
	{"OTHER", "Other", func(string) bool { return true }},
}

func prefix(p string) func(string) bool {
	return func(n string) bool { return strings.HasPrefix(n, p) }
}

// Families groups names into the UI's event families, keeping the order of
// names within each, and leaves out empty families.
func Families(names []string) []Family {
	out := make([]Family, len(families))
	for i, f := range families {
		out[i] = Family{ID: f.id, Label: f.label, Events: []string{}}
	}
	for _, name := range names {
		for i, f := range families {
			if f.match(name) {
				out[i].Events = append(out[i].Events, name)
				break
			}
		}
	}
	kept := out[:0]
	for _, f := range out {
		if len(f.Events) > 0 {
			kept = append(kept, f)
		}
	}
	return kept
}

// EventsModule is the JavaScript module served as events.js: the event
// catalog of hookd.EventNames, in API order and grouped into families, and
// the operational notifications' kinds (hookd.NotificationKinds), so the UI
// never carries a copy of its own.
func EventsModule() []byte {
	names, err := json.Marshal(hookd.EventNames)
	if err != nil {
		panic(err)
	}
	fams, err := json.MarshalIndent(Families(hookd.EventNames), "", "  ")
	if err != nil {
		panic(err)
	}
	kinds, err := json.Marshal(hookd.NotificationKinds)
	if err != nil {
		panic(err)
	}
	var b bytes.Buffer
	b.WriteString("// Generated by hookd from hookd.EventNames and hookd.NotificationKinds; do not edit.\n")
	fmt.Fprintf(&b, "export const EVENT_NAMES = Object.freeze(%s);\n", names)
	fmt.Fprintf(&b, "export const EVENT_FAMILIES = Object.freeze(%s);\n", fams)
	fmt.Fprintf(&b, "export const NOTIFICATION_KINDS = Object.freeze(%s);\n", kinds)
	return b.Bytes()
}
