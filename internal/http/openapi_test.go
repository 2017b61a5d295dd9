package http_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/hookd/hookd"
	hookdhttp "github.com/hookd/hookd/internal/http"
	"github.com/hookd/hookd/internal/sqlite/sqlitetest"
)

func sqliteStore(t *testing.T) hookd.Store {
	t.Helper()
	return sqlitetest.Open(t)
}

type openAPIDoc struct {
	OpenAPI string                                `json:"openapi"`
	Paths   map[string]map[string]json.RawMessage `json:"paths"`
}

type openAPIOperation struct {
	OperationID string                     `json:"operationId"`
	Security    *[]map[string][]string     `json:"security"`
	Parameters  []openAPIParameter         `json:"parameters"`
	Responses   map[string]json.RawMessage `json:"responses"`
}

type openAPIParameter struct {
	Name string `json:"name"`
	In   string `json:"in"`
}

var httpMethods = map[string]bool{"get": true, "put": true, "post": true, "delete": true, "options": true, "head": true, "patch": true, "trace": true}

// TestOpenAPIDescribesEveryRoute checks openapi.json against the routes the
// server registers, both ways: a route missing from the document fails, and
// so does a documented path the server does not answer. Each operation must
// declare its path parameters, and its documented answer without a key must
// be the one the real server gives.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	srv := hookdhttp.NewServer(sqliteStore(t), slog.New(slog.NewTextHandler(io.Discard, nil)),
		hookdhttp.WithMetrics(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	var doc openAPIDoc
	if err := json.Unmarshal(hookdhttp.OpenAPI(), &doc); err != nil {
		t.Fatalf("openapi.json is not valid JSON: %v", err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}

	documented := map[string]openAPIOperation{}
	pathParams := map[string][]openAPIParameter{}
	for path, item := range doc.Paths {
		for key, raw := range item {
			if key == "parameters" {
				var ps []openAPIParameter
				if err := json.Unmarshal(raw, &ps); err != nil {
					t.Fatalf("%s parameters: %v", path, err)
				}
				pathParams[path] = ps
				continue
			}
			if !httpMethods[key] {
				t.Errorf("%s: unexpected key %q", path, key)
				continue
			}
			var op openAPIOperation
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("%s %s: %v", key, path, err)
			}
			documented[strings.ToUpper(key)+" "+path] = op
		}
	}

	registered := map[string]bool{}
	for _, r := range srv.Routes() {
		registered[r.Method+" "+r.Path] = true
		if _, ok := documented[r.Method+" "+r.Path]; !ok {
			t.Errorf("route %s %s is missing from openapi.json", r.Method, r.Path)
		}
	}
	if len(registered) < 20 {
		t.Errorf("only %d routes registered; Routes() is incomplete", len(registered))
	}
	var keys []string
	for k := range documented {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	placeholder := regexp.MustCompile(`\{([a-z_]+)\}`)
	ts := httptest.NewServer(srv)
	defer ts.Close()
	for _, k := range keys {
		op := documented[k]
		if !registered[k] {
			t.Errorf("openapi.json documents %s, which the server does not register", k)
			continue
		}
		method, path, _ := strings.Cut(k, " ")
		if op.OperationID == "" {
			t.Errorf("%s: no operationId", k)
		}
		if _, ok := op.Responses["200"]; !ok {
			t.Errorf("%s: no 200 answer documented", k)
		}
		declared := map[string]bool{}
		for _, p := range append(pathParams[path], op.Parameters...) {
			if p.In == "path" {
				declared[p.Name] = true
			}
		}
		for _, m := range placeholder.FindAllStringSubmatch(path, -1) {
			if !declared[m[1]] {
				t.Errorf("%s: path parameter %s is not declared", k, m[1])
			}
		}
		public := op.Security != nil && len(*op.Security) == 0
		if !public {
			if _, ok := op.Responses["401"]; !ok {
				t.Errorf("%s: needs a key but documents no 401", k)
			}
		}

		// The real answer without a key is a documented one.
		req, _ := http.NewRequest(method, ts.URL+placeholder.ReplaceAllString(path, "1"), nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if _, ok := op.Responses[strconv.Itoa(res.StatusCode)]; !ok {
			t.Errorf("%s without a key answered %d, which openapi.json does not document", k, res.StatusCode)
		}
		if public && res.StatusCode != http.StatusOK {
			t.Errorf("%s is documented as public but answered %d: %s", k, res.StatusCode, body)
		}
		if !public && (res.StatusCode != http.StatusUnauthorized || strings.TrimSpace(string(body)) != `{"error":"Unauthorized"}`) {
			t.Errorf("%s without a key: %d %s, want 401 Unauthorized", k, res.StatusCode, body)
		}
	}
}

// TestOpenAPIServed checks that /openapi.json serves the embedded document.
func TestOpenAPIServed(t *testing.T) {
	api := newTestAPI(t, sqliteStore(t))
	res := api.do("GET", "/openapi.json", "", "")
	if res.status != http.StatusOK || !strings.HasPrefix(res.header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /openapi.json: %d %s", res.status, res.header.Get("Content-Type"))
	}
	if !bytes.Equal(res.body, hookdhttp.OpenAPI()) {
		t.Error("GET /openapi.json differs from the embedded document")
	}
}

// TestOpenAPIRefsResolve checks that every $ref points into the document.
func TestOpenAPIRefsResolve(t *testing.T) {
	var doc any
	if err := json.Unmarshal(hookdhttp.OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				if !resolves(doc, ref) {
					t.Errorf("$ref %s does not resolve", ref)
				}
			}
			for _, c := range v {
				walk(c)
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	walk(doc)
}

func resolves(doc any, ref string) bool {
	if !strings.HasPrefix(ref, "#/") {
		return false
	}
	cur := doc
	for _, part := range strings.Split(ref[2:], "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		if cur, ok = m[part]; !ok {
			return false
		}
	}
	return true
}

// TestOpenAPIDocumentsEventIDTaken checks that the answer to an event id
// another key published, on each intake route, is the documented one.
func TestOpenAPIDocumentsEventIDTaken(t *testing.T) {
	var doc openAPIDoc
	if err := json.Unmarshal(hookdhttp.OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	store := sqliteStore(t)
	a := newTestAPI(t, store)
	other, err := hookd.IssueAPIKey(t.Context(), store, hookd.DefaultUserID, "other", hookd.RolePublisher)
	if err != nil {
		t.Fatal(err)
	}
	a.publish(t, a.publisher, `{"id":"evt_taken","event":"ASSET_ADDED"}`)
	for path, body := range map[string]string{
		"/api/v2/events":       `{"id":"evt_taken","event":"ASSET_ADDED"}`,
		"/api/v2/events/batch": `{"events":[{"id":"evt_taken","event":"ASSET_ADDED"}]}`,
	} {
		res := a.do("POST", path, other, body)
		var op openAPIOperation
		if err := json.Unmarshal(doc.Paths[path]["post"], &op); err != nil {
			t.Fatal(err)
		}
		ref, ok := op.Responses[strconv.Itoa(res.status)]
		if res.status != http.StatusConflict || !ok || !strings.Contains(string(ref), "EventIDTaken") {
			t.Errorf("POST %s with another key's id: %d %s; documented %s", path, res.status, res.body, ref)
		}
	}
}
