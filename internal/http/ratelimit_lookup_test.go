package http_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/clocktest"
	hookdhttp "github.com/hookd/hookd/internal/http"
	"github.com/hookd/hookd/internal/sqlite/sqlitetest"
	"github.com/hookd/hookd/internal/storeopt"
)

// keyLookupCounter is a store that counts the lookups of keys by prefix.
type keyLookupCounter struct {
	hookd.Store
	lookups atomic.Int64
}

func (s *keyLookupCounter) APIKeyByPrefix(ctx context.Context, prefix string) (*hookd.APIKey, error) {
	s.lookups.Add(1)
	return s.Store.APIKeyByPrefix(ctx, prefix)
}

// lookupCountingAPI is the API on a SQLite store that counts its key
// lookups, both on clock, with a failure every 8 s per address and bursts
// of 2: the clock moves by hookd.KeyStaleness before each request, so that
// the server's copy of a key is always stale and a lookup in its key cache
// shows as a lookup in the store, and the budget refills by exact eighths.
func lookupCountingAPI(t *testing.T, clock *clocktest.Clock, opts ...hookdhttp.Option) (*testAPI, *keyLookupCounter) {
	t.Helper()
	store := sqlitetest.Open(t, storeopt.WithClock(clock))
	counter := &keyLookupCounter{Store: store}
	opts = append(opts, hookdhttp.WithClock(clock), hookdhttp.WithRateLimit(hookdhttp.RateLimit{PerSecond: 100, Burst: 100,
		FailuresPerSecond: 0.125, FailureBurst: 2}))
	return newTestAPI(t, counter, opts...), counter
}

// Past its failure budget, an address is answered 429 before any key it
// sends is looked up, in the key cache or the store, unless the cache holds
// the key's prefix: a missing key, a malformed one, a guess and a valid key
// this process has not read yet cost no lookup; a guessed secret for a
// held prefix costs a check, then the same 429. Within the budget every key
// is looked up as before, and a key in use is looked up and served past
// it. The 429s are answered and observed as those of a failure.
func TestRateLimitPastFailuresLooksNoKeyUp(t *testing.T) {
	clock := clocktest.New(time.Now())
	log := &requestLog{statuses: map[string][]int{}, told: make(chan struct{}, 100)}
	a, store := lookupCountingAPI(t, clock, hookdhttp.WithObserver(log))
	prefix, _, _ := strings.Cut(a.adminKey, ".")
	const route = "/api/v2/admin/webhooks"
	request := func(key string, status int, body string, lookups int64) {
		t.Helper()
		clock.Advance(hookd.KeyStaleness)
		before := store.lookups.Load()
		res := a.do("GET", route, key, "")
		expect(t, res, status, body)
		if got := store.lookups.Load() - before; got != lookups {
			t.Errorf("key %q: %d lookups, want %d", key, got, lookups)
		}
		if status == 429 {
			// Retry-After is the body's seconds.
			if got, want := res.header.Get("Retry-After"), strings.Fields(body)[len(strings.Fields(body))-2]; got != want {
				t.Errorf("key %q: Retry-After %q, want %q", key, got, want)
			}
		}
	}
	limited := func(retry int) string {
		return fmt.Sprintf(`{"error":"Too many requests: too many failed authentications from this address, retry in %d s"}`, retry)
	}

	request(a.adminKey, 200, `{"webhooks":[]}`, 1)
	request("guess.wrong-secret", 401, `{"error":"Unauthorized"}`, 1)
	request(prefix+".wrong-secret", 401, `{"error":"Unauthorized"}`, 1) // the second failure: the budget is spent

	// An eighth of a token comes back a second: at the first request past
	// the budget 6/8 are missing, 6 s.
	for i, key := range []struct {
		key     string
		lookups int64
	}{{"guess.another-secret", 0}, {prefix + ".another-secret", 1}, {"", 0}, {"malformed", 0}, {a.publisher, 0}} {
		request(key.key, 429, limited(6-i), key.lookups)
	}
	// The admin key is in use: looked up and served, and the guesses at
	// its secret did not make the server forget it.
	request(a.adminKey, 200, `{"webhooks":[]}`, 1)
	expect(t, a.do("GET", "/healthz", "", ""), 200, `{"status":"ok"}`)
	// Once a token is back, the publisher's key is looked up: valid, but
	// not an admin's.
	request(a.publisher, 401, `{"error":"Unauthorized"}`, 1)

	for range 11 {
		<-log.told
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	want := []int{200, 401, 401, 429, 429, 429, 429, 429, 200, 401}
	if got := log.statuses["GET "+route]; !slices.Equal(got, want) {
		t.Errorf("the observer was told %v, want %v", got, want)
	}
}

// A key in use and revoked since costs one lookup past the failure budget,
// which finds it gone and drops it from the cache; after that it is a guess
// like any.
func TestRateLimitPastFailuresForgetsRevokedKey(t *testing.T) {
	clock := clocktest.New(time.Now())
	a, store := lookupCountingAPI(t, clock)
	ctx := context.Background()
	prefix, _, _ := strings.Cut(a.publisher, ".")
	k, err := store.APIKeyByPrefix(ctx, prefix)
	if err != nil {
		t.Fatal(err)
	}
	expect(t, a.do("POST", "/api/v2/events", a.publisher, `{"id":"evt_1","event":"ASSET_ADDED"}`), 200, "")
	if err := store.DeleteAPIKey(ctx, k.UserID, k.ID); err != nil {
		t.Fatal(err)
	}
	expect(t, a.do("GET", "/api/v2/admin/webhooks", "guess.wrong-secret", ""), 401, "")
	expect(t, a.do("GET", "/api/v2/admin/webhooks", "guess.wrong-secret", ""), 401, "")

	for _, lookups := range []int64{1, 0, 0} {
		clock.Advance(hookd.KeyStaleness)
		before := store.lookups.Load()
		expect(t, a.do("POST", "/api/v2/events", a.publisher, `{"id":"evt_2","event":"ASSET_ADDED"}`), 429, "")
		if got := store.lookups.Load() - before; got != lookups {
			t.Errorf("the revoked key: %d lookups, want %d", got, lookups)
		}
	}
}
