package http_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hookd/hookd"
)

// TestOrderingSetting walks the settings' ordering key (hookd.Ordering):
// each kind of ordering, a reset, and every refused value, each of which
// leaves the stored settings as they were.
func TestOrderingSetting(t *testing.T) {
	backends(t, func(t *testing.T, store hookd.Store) {
		a := newTestAPI(t, store)
		path := "/api/v2/admin/webhooks/1/settings"
		settings := func(ordering string) string {
			return `{"settings":{"max_in_flight":2,"max_per_second":null,"filter":null,"ordering":` + ordering + `}}`
		}
		steps := []step{
			{"create a webhook", "POST", "/api/v2/admin/webhooks", "admin", seedBody + "}", 200, webhookJSON("1", "null")},
			{"another setting", "POST", path, "admin", `{"settings":{"max_in_flight":2}}`, 200, settings("null")},
		}
		for _, o := range []string{"webhook", "project_id", "user_id", "event", "data.order_id", "data.order.id", "data.a-b.C_9"} {
			steps = append(steps, step{"ordering " + o, "POST", path, "admin", `{"settings":{"ordering":"` + o + `"}}`, 200,
				settings(`"` + o + `"`)})
		}
		steps = append(steps,
			step{"read back", "GET", path, "admin", "", 200, settings(`"data.a-b.C_9"`)},
			step{"absent keeps it", "POST", path, "admin", `{"settings":{"max_in_flight":2}}`, 200, settings(`"data.a-b.C_9"`)},
			step{"null resets it", "POST", path, "admin", `{"settings":{"ordering":null}}`, 200, settings("null")},
			step{"set again", "POST", path, "admin", `{"settings":{"ordering":"project_id"}}`, 200, settings(`"project_id"`)},
		)
		a.run(t, steps)

		unchanged := settings(`"project_id"`)
		rule := hookd.OrderingRule
		for _, c := range []struct{ name, value, want string }{
			{"a number", `42`, `Invalid parameter 'ordering' value 42: Must be a String`},
			{"true", `true`, `Invalid parameter 'ordering' value true: Must be a String`},
			{"an array", `["event"]`, `Invalid parameter 'ordering' value ["event"]: Must be a String`},
			{"a hash", `{"key":"event"}`, `Invalid parameter 'ordering' value {"key"=>"event"}: Must be a String`},
			{"empty", `""`, `Invalid parameter 'ordering' value "": ` + rule},
			{"unknown", `"project"`, `Invalid parameter 'ordering' value "project": ` + rule},
			{"in another case", `"Webhook"`, `Invalid parameter 'ordering' value "Webhook": ` + rule},
			{"data alone", `"data"`, `Invalid parameter 'ordering' value "data": ` + rule},
			{"data without a field", `"data."`, `Invalid parameter 'ordering' value "data.": ` + rule},
			{"an empty name", `"data.a..b"`, `Invalid parameter 'ordering' value "data.a..b": ` + rule},
			{"a space", `"data.a b"`, `Invalid parameter 'ordering' value "data.a b": ` + rule},
			{"a control character", `"data.a\u0000"`, `Invalid parameter 'ordering' value "data.a\u0000": ` + rule},
			{"too deep", `"data.a.b.c.d.e.f.g.h.i"`, `Invalid parameter 'ordering' value "data.a.b.c.d.e.f.g.h.i": ` + rule},
			{"a name too long", `"data.` + strings.Repeat("x", 65) + `"`,
				`Invalid parameter 'ordering' value "data.` + strings.Repeat("x", 65) + `": ` + rule},
			// One bad key stores nothing, not even the good one.
			{"a good key beside a bad one", `"x","max_in_flight":5`, `Invalid parameter 'ordering' value "x": ` + rule},
		} {
			t.Run(c.name, func(t *testing.T) {
				expect(t, a.do("POST", path, a.adminKey, `{"settings":{"ordering":`+c.value+`}}`), 422, errorJSON(c.want))
				expect(t, a.do("GET", path, a.adminKey, ""), 200, unchanged)
			})
		}

		t.Run("a huge value is refused and not echoed whole", func(t *testing.T) {
			huge := "data." + strings.Repeat("x", 500<<10)
			r := a.do("POST", path, a.adminKey, `{"settings":{"ordering":"`+huge+`"}}`)
			expect(t, r, 422, "")
			var e struct{ Error string }
			if err := json.Unmarshal(r.body, &e); err != nil || !strings.HasPrefix(e.Error, `Invalid parameter 'ordering' value "data.xxx`) ||
				!strings.HasSuffix(e.Error, rule) || len(e.Error) > 2000 {
				t.Errorf("error %.200q (%d bytes), want the start of the value and the rule", e.Error, len(e.Error))
			}
			expect(t, a.do("GET", path, a.adminKey, ""), 200, unchanged)
		})
	})
}

// errorJSON is the API's error body with message msg.
func errorJSON(msg string) string {
	b, _ := json.Marshal(map[string]string{"error": msg})
	return string(b)
}
