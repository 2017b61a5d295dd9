package http_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/hookd/hookd"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestBadRequests sends what clients get wrong and checks each gets a clear
// 4xx in the error shape and that nothing stored changes.
func TestBadRequests(t *testing.T) {
	backends(t, func(t *testing.T, store hookd.Store) {
		a := newTestAPI(t, store)
		expect(t, a.do("POST", "/api/v2/admin/webhooks", a.adminKey, seedBody+"}"), 200, "")
		before := a.do("GET", "/api/v2/admin/webhooks", a.adminKey, "")

		raw := func(method, path, contentType, body string) response {
			req, err := http.NewRequest(method, a.url+path, strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("X-API-KEY", a.adminKey)
			if contentType != "" {
				req.Header.Set("Content-Type", contentType)
			}
			return a.send(req)
		}
		huge := `{"name":"` + strings.Repeat("a", 1<<20) + `"}`
		cases := []struct {
			name   string
			res    response
			status int
			want   string
		}{
			{"malformed JSON", raw("POST", "/api/v2/admin/webhooks", "application/json", `{"name":`), 400, `{"error":"Malformed JSON: unexpected end of input"}`},
			{"JSON syntax error", raw("POST", "/api/v2/admin/webhooks", "application/json", `{"name" "x"}`), 400, `{"error":"Malformed JSON: invalid character '\"' after object key (at byte 9)"}`},
			{"trailing data", raw("POST", "/api/v2/admin/webhooks", "application/json", `{} {}`), 400, `{"error":"Malformed JSON: unexpected data after the top-level value"}`},
			{"array body", raw("POST", "/api/v2/admin/webhooks", "application/json", `[1]`), 400, `{"error":"The request body must be a JSON object"}`},
			{"null body", raw("POST", "/api/v2/admin/webhooks", "application/json", ` null `), 400, `{"error":"The request body must be a JSON object"}`},
			// Only JSON's white space makes a body empty ({}).
			{"a no-break space", raw("POST", "/api/v2/admin/webhooks", "application/json", "\u00a0"), 400, `{"error":"Malformed JSON: invalid character 'Â' looking for beginning of value (at byte 1)"}`},
			{"wrong content type", raw("POST", "/api/v2/admin/webhooks", "text/plain", seedBody+"}"), 415, `{"error":"Content-Type must be application/json"}`},
			{"no content type", raw("POST", "/api/v2/admin/webhooks", "", seedBody+"}"), 415, `{"error":"Content-Type must be application/json"}`},
			{"content type with charset", raw("POST", "/api/v2/admin/webhooks/1", "application/json; charset=utf-8", `{"name":12}`), 422, `{"error":"Invalid parameter 'name' value 12: Must be a String"}`},
			{"oversize body", raw("POST", "/api/v2/admin/webhooks", "application/json", huge), 413, `{"error":"Request body too large: the limit is 1048576 bytes"}`},
			{"unknown route", raw("GET", "/api/v2/admin/nothing", "", ""), 404, `{"error":"Not found: GET /api/v2/admin/nothing"}`},
			{"wrong method", raw("PUT", "/api/v2/admin/webhooks/1", "application/json", "{}"), 405, `{"error":"Method PUT not allowed on /api/v2/admin/webhooks/1"}`},
			// Decoding would store U+FFFD in their place: a name, or an
			// HMAC key sent as a header value, other than sent.
			{"invalid UTF-8", raw("POST", "/api/v2/admin/webhooks", "application/json", "{\"name\":\"\xff\",\"http_url\":5}"), 400, `{"error":"Malformed JSON: the value of 'name' is not valid UTF-8"}`},
			{"a lone surrogate", raw("POST", "/api/v2/admin/webhooks", "application/json", seedBody+`,"name":"a\ud800b"}`), 400, `{"error":"Malformed JSON: the value of 'name' is not valid UTF-8"}`},
			{"a lone surrogate in a header", raw("POST", "/api/v2/admin/webhooks", "application/json",
				seedBody+`,"webhook_headers":[{"header_key":"X-Key","header_value":"k\udc00"}]}`), 400, `{"error":"Malformed JSON: the value of 'webhook_headers' is not valid UTF-8"}`},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) { expect(t, c.res, c.status, c.want) })
		}
		after := a.do("GET", "/api/v2/admin/webhooks", a.adminKey, "")
		if string(before.body) != string(after.body) {
			t.Errorf("rejected requests changed the webhooks:\nbefore %s\nafter  %s", before.body, after.body)
		}
		if res := raw("PUT", "/api/v2/admin/webhooks/1", "", ""); res.header.Get("Allow") == "" {
			t.Error("405 without an Allow header")
		}
	})
}

func TestHealth(t *testing.T) {
	backends(t, func(t *testing.T, store hookd.Store) {
		a := newTestAPI(t, store)
		expect(t, a.do("GET", "/healthz", "", ""), 200, `{"status":"ok"}`)
		expect(t, a.do("GET", "/readyz", "", ""), 200, `{"status":"ready"}`)
	})
}

// unwritable is a database that answers but takes no write, as a full disk
// or a read-only file does.
type unwritable struct{ hookd.Store }

func (unwritable) CheckWrite(context.Context) error {
	return fmt.Errorf("%w: database or disk is full (13)", hookd.ErrUnavailable)
}

// Ready means able to accept an event: a database that answers but cannot
// take a write is not ready.
func TestReadyzNeedsAWrite(t *testing.T) {
	backends(t, func(t *testing.T, store hookd.Store) {
		a := newTestAPI(t, unwritable{store})
		expect(t, a.do("GET", "/healthz", "", ""), 200, `{"status":"ok"}`)
		expect(t, a.do("GET", "/readyz", "", ""), 503, `{"error":"database unavailable"}`)
	})
}
