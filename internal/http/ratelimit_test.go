package http_test

import (
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/clocktest"
	hookdhttp "github.com/hookd/hookd/internal/http"
	"github.com/hookd/hookd/internal/sqlite/sqlitetest"
	"github.com/hookd/hookd/internal/storeopt"
)

func sqliteAPI(t *testing.T, opts ...hookdhttp.Option) *testAPI {
	t.Helper()
	store := sqlitetest.Open(t)
	return newTestAPI(t, store, opts...)
}

// clockedAPI is the API on a SQLite store, both reading the time from
// clock.
func clockedAPI(t *testing.T, clock hookd.Clock) *testAPI {
	t.Helper()
	store := sqlitetest.Open(t, storeopt.WithClock(clock))
	return newTestAPI(t, store, hookdhttp.WithClock(clock))
}

// Each key gets its own budget; over it, a request is answered 429 with
// Retry-After and its handler does not run, so it stores nothing.
func TestRateLimitPerKey(t *testing.T) {
	clock := clocktest.New(time.Now())
	// A token every 2 s of the clock, which moves only when told to.
	a := sqliteAPI(t, hookdhttp.WithClock(clock), hookdhttp.WithRateLimit(hookdhttp.RateLimit{PerSecond: 0.5, Burst: 3, FailuresPerSecond: 0.05, FailureBurst: 1}))
	event := func(id string) string { return `{"id":"` + id + `","event":"ASSET_ADDED"}` }
	for _, id := range []string{"evt_1", "evt_2", "evt_3"} {
		expect(t, a.do("POST", "/api/v2/events", a.publisher, event(id)), 200, "")
	}
	res := a.do("POST", "/api/v2/events", a.publisher, event("evt_limited"))
	expect(t, res, 429, `{"error":"Too many requests: the limit is 0.5 requests a second per API key (bursts of 3), retry in 2 s"}`)
	if got := res.header.Get("Retry-After"); got != "2" {
		t.Errorf("Retry-After %q, want 2", got)
	}
	// The batch intake shares the key's budget.
	expect(t, a.do("POST", "/api/v2/events/batch", a.publisher, `{"events":[`+event("evt_limited")+`]}`), 429, "")

	// Another key is not affected.
	expect(t, a.do("GET", "/api/v2/admin/webhooks", a.adminKey, ""), 200, `{"webhooks":[]}`)

	// A millisecond before the token, still refused; once the bucket
	// refills, the event refused with 429 turns out never to have been
	// stored: it is new, not a duplicate.
	clock.Advance(2*time.Second - time.Millisecond)
	res = a.do("POST", "/api/v2/events", a.publisher, event("evt_limited"))
	expect(t, res, 429, `{"error":"Too many requests: the limit is 0.5 requests a second per API key (bursts of 3), retry in 1 s"}`)
	clock.Advance(time.Millisecond)
	res = a.do("POST", "/api/v2/events", a.publisher, event("evt_limited"))
	expect(t, res, 200, "")
	if normalize(t, res.body).(map[string]any)["event"].(map[string]any)["duplicate"] != false {
		t.Errorf("the event refused with 429 was stored: %s", res.body)
	}
}

// Failed authentications are limited per client address: past the budget a
// bad key is answered 429, but a valid key in use from that address still
// passes.
func TestRateLimitFailedAuthentication(t *testing.T) {
	clock := clocktest.New(time.Now())
	// A failure every 2 s per address, bursts of 2.
	a := sqliteAPI(t, hookdhttp.WithClock(clock), hookdhttp.WithRateLimit(hookdhttp.RateLimit{PerSecond: 5, Burst: 20,
		FailuresPerSecond: 0.5, FailureBurst: 2}))
	// Both keys are in use before the failures (a key that is not waits for
	// the budget: TestRateLimitPastFailuresLooksNoKeyUp); neither spends the
	// budget, the publisher's wrong role included.
	expect(t, a.do("GET", "/api/v2/admin/webhooks", a.adminKey, ""), 200, `{"webhooks":[]}`)
	expect(t, a.do("GET", "/api/v2/admin/webhooks", a.publisher, ""), 401, `{"error":"Unauthorized"}`)
	expect(t, a.do("GET", "/api/v2/admin/webhooks", "guess.wrong-secret", ""), 401, `{"error":"Unauthorized"}`)
	expect(t, a.do("GET", "/api/v2/admin/webhooks", "", ""), 401, `{"error":"Unauthorized"}`)
	res := a.do("GET", "/api/v2/admin/webhooks", "guess.another-secret", "")
	expect(t, res, 429, `{"error":"Too many requests: too many failed authentications from this address, retry in 2 s"}`)
	if res.header.Get("Retry-After") != "2" {
		t.Errorf("Retry-After %q", res.header.Get("Retry-After"))
	}
	expect(t, a.do("GET", "/api/v2/admin/webhooks", a.adminKey, ""), 200, `{"webhooks":[]}`)
	// A valid key of the wrong role is refused as before, 401, and is not
	// answered 429: retrying would not help it.
	expect(t, a.do("GET", "/api/v2/admin/webhooks", a.publisher, ""), 401, `{"error":"Unauthorized"}`)
	// The prefix of a valid key with a wrong secret is a failure like any.
	prefix, _, _ := strings.Cut(a.adminKey, ".")
	expect(t, a.do("GET", "/api/v2/admin/webhooks", prefix+".wrong", ""), 429, "")
	// Health checks are never limited.
	expect(t, a.do("GET", "/healthz", "", ""), 200, "")

	clock.Advance(2 * time.Second)
	expect(t, a.do("GET", "/api/v2/admin/webhooks", "guess.wrong-secret", ""), 401, `{"error":"Unauthorized"}`)
	expect(t, a.do("GET", "/api/v2/admin/webhooks", "guess.wrong-secret", ""), 429, "")
}

// A client flooding bad keys does not lock out a publisher sharing its
// address (as behind a load balancer): every event of the publisher is
// accepted while the flooder, past its failure budget, gets 429s.
func TestRateLimitFloodDoesNotLockOutValidKeys(t *testing.T) {
	clock := clocktest.New(time.Now()) // no refill: the counts are exact
	// Bursts of 200 per key, 20 failures per address.
	a := sqliteAPI(t, hookdhttp.WithClock(clock), hookdhttp.WithRateLimit(hookdhttp.RateLimit{PerSecond: 100, Burst: 200,
		FailuresPerSecond: 10, FailureBurst: 20}))
	prefix, _, _ := strings.Cut(a.publisher, ".")
	badKeys := []string{"", "malformed", "guess.wrong-secret", prefix + ".wrong-secret"}
	const floods, events = 80, 50
	// The publisher is at work before the flood begins (a key first used
	// past the budget waits for it: TestRateLimitPastFailuresLooksNoKeyUp).
	expect(t, a.do("POST", "/api/v2/events", a.publisher, `{"id":"evt_before","event":"ASSET_ADDED"}`), 200, "")
	statuses := make(chan int, floods)
	var flooder sync.WaitGroup
	flooder.Go(func() {
		for i := range floods {
			res := a.do("GET", "/api/v2/admin/webhooks", badKeys[i%len(badKeys)], "")
			if res.status == 429 && res.header.Get("Retry-After") == "" {
				t.Errorf("429 without Retry-After")
			}
			statuses <- res.status
		}
	})
	for i := range events {
		res := a.do("POST", "/api/v2/events", a.publisher, fmt.Sprintf(`{"id":"evt_%d","event":"ASSET_ADDED"}`, i))
		if res.status != 200 {
			t.Errorf("event %d: %d %s, want 200", i, res.status, res.body)
		}
	}
	flooder.Wait()
	close(statuses)
	count := map[int]int{}
	for s := range statuses {
		count[s]++
	}
	if want := map[int]int{401: 20, 429: floods - 20}; !maps.Equal(count, want) {
		t.Errorf("the flooder got %v, want %v", count, want)
	}
}

// Without WithRateLimit, or with a rate of 0, nothing is limited.
func TestRateLimitOff(t *testing.T) {
	for name, opts := range map[string][]hookdhttp.Option{
		"no option": nil,
		"rates 0":   {hookdhttp.WithRateLimit(hookdhttp.RateLimit{PerSecond: 0, Burst: 1})},
	} {
		t.Run(name, func(t *testing.T) {
			a := sqliteAPI(t, opts...)
			for i := 0; i < 30; i++ {
				expect(t, a.do("GET", "/api/v2/admin/webhooks", "guess.wrong", ""), 401, "")
				expect(t, a.do("GET", "/api/v2/admin/webhooks", a.adminKey, ""), 200, "")
			}
		})
	}
}

// With the defaults, bad keys from one address get 429 after a few, while
// a valid key in use goes on (its budget: TestDefaultKeyBudget).
func TestRateLimitDefaultFailures(t *testing.T) {
	clock := clocktest.New(time.Now())
	a := sqliteAPI(t, hookdhttp.WithClock(clock), hookdhttp.WithRateLimit(hookdhttp.DefaultRateLimits))
	expect(t, a.do("GET", "/api/v2/admin/webhooks", a.adminKey, ""), 200, "")
	statuses := map[int]int{}
	for range hookdhttp.DefaultFailureBurst + 5 {
		statuses[a.do("GET", "/api/v2/admin/webhooks", "guess.wrong-secret", "").status]++
	}
	if want := map[int]int{401: hookdhttp.DefaultFailureBurst, 429: 5}; !maps.Equal(statuses, want) {
		t.Errorf("bad keys got %v, want %v", statuses, want)
	}
	expect(t, a.do("GET", "/api/v2/admin/webhooks", a.adminKey, ""), 200, "")
}

// A key whose prefix is not valid UTF-8 is a failed authentication like
// any, on both stores: PostgreSQL failed its lookup with an error, which
// was answered 500 and never counted against the address, so one client
// could make hookd query the database and log an error as often as it
// liked.
func TestRateLimitInvalidUTF8Prefix(t *testing.T) {
	backends(t, func(t *testing.T, store hookd.Store) {
		clock := clocktest.New(time.Now())
		a := newTestAPI(t, store, hookdhttp.WithClock(clock), hookdhttp.WithRateLimit(hookdhttp.RateLimit{PerSecond: 100, Burst: 100,
			FailuresPerSecond: 0.5, FailureBurst: 2}))
		for i, want := range []int{401, 401, 429, 429} {
			if res := a.do("GET", "/api/v2/admin/webhooks", "\xff.secret", ""); res.status != want {
				t.Errorf("request %d: %d %s, want %d", i+1, res.status, res.body, want)
			}
		}
	})
}
