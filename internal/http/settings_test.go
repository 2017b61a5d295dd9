package http_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hookd/hookd"
)

// TestSettings walks the settings sub-resource: defaults, partial updates,
// resets, and every refused value, each of which leaves the stored settings
// as they were.
func TestSettings(t *testing.T) {
	backends(t, func(t *testing.T, store hookd.Store) {
		a := newTestAPI(t, store)
		path := "/api/v2/admin/webhooks/1/settings"
		defaults := `{"settings":{"max_in_flight":null,"max_per_second":null,"filter":null,"ordering":null}}`
		a.run(t, []step{
			{"create a webhook", "POST", "/api/v2/admin/webhooks", "admin", seedBody + "}", 200, webhookJSON("1", "null")},
			{"defaults are null", "GET", path, "admin", "", 200, defaults},
			{"set max_in_flight", "POST", path, "admin", `{"settings":{"max_in_flight":4}}`, 200,
				`{"settings":{"max_in_flight":4,"max_per_second":null,"filter":null,"ordering":null}}`},
			{"set max_per_second keeps max_in_flight", "POST", path, "admin", `{"settings":{"max_per_second":0.5}}`, 200,
				`{"settings":{"max_in_flight":4,"max_per_second":0.5,"filter":null,"ordering":null}}`},
			{"read back", "GET", path, "admin", "", 200, `{"settings":{"max_in_flight":4,"max_per_second":0.5,"filter":null,"ordering":null}}`},
			{"the webhook object is MediaPocket's", "GET", "/api/v2/admin/webhooks/1", "admin", "", 200, webhookJSON("1", "null")},
			{"nothing to change", "POST", path, "admin", `{"settings":{}}`, 200, `{"settings":{"max_in_flight":4,"max_per_second":0.5,"filter":null,"ordering":null}}`},
			// As in the webhook update, keys that are not parameters are ignored.
			{"other keys are ignored", "POST", path, "admin", `{"settings":{"max_inflight":9},"max_in_flight":9}`, 200,
				`{"settings":{"max_in_flight":4,"max_per_second":0.5,"filter":null,"ordering":null}}`},
			{"digits in a string, as Apipie reads them", "POST", path, "admin", `{"settings":{"max_in_flight":"6","max_per_second":"2.5"}}`, 200,
				`{"settings":{"max_in_flight":6,"max_per_second":2.5,"filter":null,"ordering":null}}`},
			{"the bounds", "POST", path, "admin", `{"settings":{"max_in_flight":1000,"max_per_second":0.001,"filter":null,"ordering":null}}`, 200,
				`{"settings":{"max_in_flight":1000,"max_per_second":0.001,"filter":null,"ordering":null}}`},
			{"the other bounds", "POST", path, "admin", `{"settings":{"max_in_flight":1,"max_per_second":10000,"filter":null,"ordering":null}}`, 200,
				`{"settings":{"max_in_flight":1,"max_per_second":10000,"filter":null,"ordering":null}}`},
			{"null resets one", "POST", path, "admin", `{"settings":{"max_in_flight":null}}`, 200,
				`{"settings":{"max_in_flight":null,"max_per_second":10000,"filter":null,"ordering":null}}`},
			{"set both", "POST", path, "admin", `{"settings":{"max_in_flight":3,"max_per_second":12.5,"filter":null,"ordering":null}}`, 200,
				`{"settings":{"max_in_flight":3,"max_per_second":12.5,"filter":null,"ordering":null}}`},

			{"get: not admin", "GET", path, "publisher", "", 401, `{"error":"Unauthorized"}`},
			{"update: not admin", "POST", path, "publisher", `{"settings":{"max_in_flight":null}}`, 401, `{"error":"Unauthorized"}`},
			{"get: unknown webhook", "GET", "/api/v2/admin/webhooks/99/settings", "admin", "", 404, `{"error":"Couldn't find Webhook with 'id'=99"}`},
			{"get: id not a number", "GET", "/api/v2/admin/webhooks/abc/settings", "admin", "", 404, `{"error":"Couldn't find Webhook with 'id'=abc"}`},
			{"update: unknown webhook", "POST", "/api/v2/admin/webhooks/-1/settings", "admin", `{"settings":{"max_in_flight":2}}`, 404,
				`{"error":"Couldn't find Webhook with 'id'=-1"}`},
		})

		unchanged := `{"settings":{"max_in_flight":3,"max_per_second":12.5,"filter":null,"ordering":null}}`
		inFlightRange := "Must be an Integer from 1 to 1000, or null for the default"
		perSecondRange := "Must be a Number from 0.001 to 10000, or null for no cap"
		for _, c := range []struct{ name, body, want string }{
			{"no settings", `{"max_in_flight":2}`, `Missing parameter settings`},
			{"an empty body", ``, `Missing parameter settings`},
			{"settings not a hash", `{"settings":[1]}`, `Invalid parameter 'settings' value [1]: Must be a Hash`},
			{"settings null", `{"settings":null}`, `Invalid parameter 'settings' value nil: Must be a Hash`},

			{"max_in_flight a word", `{"settings":{"max_in_flight":"x"}}`, `Invalid parameter 'max_in_flight' value "x": Must be a Integer`},
			{"max_in_flight a fraction", `{"settings":{"max_in_flight":1.5}}`, `Invalid parameter 'max_in_flight' value 1.5: Must be a Integer`},
			{"max_in_flight in exponent form", `{"settings":{"max_in_flight":1e2}}`, `Invalid parameter 'max_in_flight' value 100.0: Must be a Integer`},
			{"max_in_flight true", `{"settings":{"max_in_flight":true}}`, `Invalid parameter 'max_in_flight' value true: Must be a Integer`},
			{"max_in_flight an array", `{"settings":{"max_in_flight":[2]}}`, `Invalid parameter 'max_in_flight' value [2]: Must be a Integer`},
			{"max_in_flight a hash", `{"settings":{"max_in_flight":{"n":2}}}`, `Invalid parameter 'max_in_flight' value {"n"=>2}: Must be a Integer`},
			{"max_in_flight 0", `{"settings":{"max_in_flight":0}}`, `Invalid parameter 'max_in_flight' value 0: ` + inFlightRange},
			{"max_in_flight -0", `{"settings":{"max_in_flight":"-0"}}`, `Invalid parameter 'max_in_flight' value "-0": ` + inFlightRange},
			{"max_in_flight negative", `{"settings":{"max_in_flight":-1}}`, `Invalid parameter 'max_in_flight' value -1: ` + inFlightRange},
			{"max_in_flight too many", `{"settings":{"max_in_flight":1001}}`, `Invalid parameter 'max_in_flight' value 1001: ` + inFlightRange},
			{"max_in_flight beyond int64", `{"settings":{"max_in_flight":"99999999999999999999"}}`,
				`Invalid parameter 'max_in_flight' value "99999999999999999999": ` + inFlightRange},

			{"max_per_second a word", `{"settings":{"max_per_second":"fast"}}`, `Invalid parameter 'max_per_second' value "fast": Must be a Number`},
			{"max_per_second NaN", `{"settings":{"max_per_second":"NaN"}}`, `Invalid parameter 'max_per_second' value "NaN": Must be a Number`},
			{"max_per_second Infinity", `{"settings":{"max_per_second":"Infinity"}}`, `Invalid parameter 'max_per_second' value "Infinity": Must be a Number`},
			{"max_per_second hex", `{"settings":{"max_per_second":"0x10"}}`, `Invalid parameter 'max_per_second' value "0x10": Must be a Number`},
			{"max_per_second padded", `{"settings":{"max_per_second":" 1"}}`, `Invalid parameter 'max_per_second' value " 1": Must be a Number`},
			{"max_per_second false", `{"settings":{"max_per_second":false}}`, `Invalid parameter 'max_per_second' value false: Must be a Number`},
			{"max_per_second an array", `{"settings":{"max_per_second":[1]}}`, `Invalid parameter 'max_per_second' value [1]: Must be a Number`},
			{"max_per_second 1e309", `{"settings":{"max_per_second":1e309}}`, `Invalid parameter 'max_per_second' value 1e309: ` + perSecondRange},
			{"max_per_second 1e-400", `{"settings":{"max_per_second":1e-400}}`, `Invalid parameter 'max_per_second' value 0.0: ` + perSecondRange},
			{"max_per_second 0", `{"settings":{"max_per_second":0}}`, `Invalid parameter 'max_per_second' value 0: ` + perSecondRange},
			{"max_per_second -0.0", `{"settings":{"max_per_second":-0.0}}`, `Invalid parameter 'max_per_second' value -0.0: ` + perSecondRange},
			{"max_per_second negative", `{"settings":{"max_per_second":-5}}`, `Invalid parameter 'max_per_second' value -5: ` + perSecondRange},
			{"max_per_second too slow", `{"settings":{"max_per_second":0.0009}}`, `Invalid parameter 'max_per_second' value 0.0009: ` + perSecondRange},
			{"max_per_second too fast", `{"settings":{"max_per_second":10000.5}}`, `Invalid parameter 'max_per_second' value 10000.5: ` + perSecondRange},
			{"max_per_second huge", `{"settings":{"max_per_second":"1` + strings.Repeat("0", 400) + `"}}`,
				`Invalid parameter 'max_per_second' value "1` + strings.Repeat("0", 400) + `": ` + perSecondRange},

			// One bad key stores nothing, not even the good one.
			{"a good key beside a bad one", `{"settings":{"max_in_flight":7,"max_per_second":"x"}}`,
				`Invalid parameter 'max_per_second' value "x": Must be a Number`},
		} {
			t.Run(c.name, func(t *testing.T) {
				expect(t, a.do("POST", path, a.adminKey, c.body), 422, fmt.Sprintf(`{"error":%q}`, c.want))
				expect(t, a.do("GET", path, a.adminKey, ""), 200, unchanged)
			})
		}

		for _, c := range []struct {
			name   string
			body   string
			status int
		}{
			{"malformed JSON", `{"settings":{"max_in_flight":}}`, 400},
			{"NaN is not JSON", `{"settings":{"max_per_second":NaN}}`, 400},
			{"Infinity is not JSON", `{"settings":{"max_per_second":Infinity}}`, 400},
			{"not an object", `[{"settings":{}}]`, 400},
			{"trailing data", `{"settings":{"max_in_flight":2}} {}`, 400},
			{"a body over 1 MB", `{"settings":{"max_in_flight":2},"pad":"` + strings.Repeat("x", 1<<20) + `"}`, 413},
		} {
			t.Run(c.name, func(t *testing.T) {
				expect(t, a.do("POST", path, a.adminKey, c.body), c.status, "")
				expect(t, a.do("GET", path, a.adminKey, ""), 200, unchanged)
			})
		}

		// A deleted webhook's settings are gone with it.
		a.run(t, []step{
			{"delete the webhook", "DELETE", "/api/v2/admin/webhooks/1", "admin", "", 200, `{"ok":"ok"}`},
			{"get: deleted", "GET", path, "admin", "", 404, `{"error":"Couldn't find Webhook with 'id'=1"}`},
		})
	})
}
