package http_test

import (
	"strings"
	"testing"
)

// Bodies over the limits are refused with 413 before anything is parsed or
// stored: 1 MiB for single objects, 16 MiB for a batch of events.
func TestBodyLimits(t *testing.T) {
	a := sqliteAPI(t)
	event := func(id string, pad int) string {
		return `{"id":"` + id + `","event":"ASSET_ADDED","data":{"pad":"` + strings.Repeat("a", pad) + `"}}`
	}
	const mib = 1 << 20
	expect(t, a.do("POST", "/api/v2/events", a.publisher, event("evt_big", mib)), 413,
		`{"error":"Request body too large: the limit is 1048576 bytes"}`)
	expect(t, a.do("POST", "/api/v2/events/batch", a.publisher, `{"events":[`+event("evt_big_batch", 16*mib)+`]}`), 413,
		`{"error":"Request body too large: the limit is 16777216 bytes"}`)
	// A batch may be larger than a single object.
	expect(t, a.do("POST", "/api/v2/events/batch", a.publisher, `{"events":[`+event("evt_2mib", 2*mib)+`]}`), 200, "")

	// Neither refused event was stored: both are new now.
	for _, id := range []string{"evt_big", "evt_big_batch"} {
		res := a.do("POST", "/api/v2/events", a.publisher, event(id, 10))
		expect(t, res, 200, "")
		if strings.Contains(string(res.body), `"duplicate":true`) {
			t.Errorf("%s was stored although refused with 413", id)
		}
	}
}
