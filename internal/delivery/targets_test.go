package delivery

import (
	"slices"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

// cachedURLs returns the URLs lookup finds for ids, by webhook, and the
// ids it lacks, sorted.
func cachedURLs(c *targetCache, version int64, now time.Time, ids ...int64) (map[int64]string, []int64) {
	found, missing := c.lookup(version, now, ids)
	urls := map[int64]string{}
	for id, t := range found {
		urls[id] = t.URL
	}
	slices.Sort(missing)
	return urls, missing
}

func TestTargetCacheFollowsVersion(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	c := newTargetCache()

	if urls, missing := cachedURLs(c, 3, now, 1, 2); len(urls) != 0 || !slices.Equal(missing, []int64{1, 2}) {
		t.Fatalf("empty cache: found %v, missing %v", urls, missing)
	}
	c.keep(3, map[int64]*hookd.Target{1: {WebhookID: 1, URL: "v3-1"}, 2: {WebhookID: 2, URL: "v3-2"}})

	// The same version finds what was kept; an id never read is missing.
	if urls, missing := cachedURLs(c, 3, now, 1, 2, 7); urls[1] != "v3-1" || urls[2] != "v3-2" || len(urls) != 2 ||
		!slices.Equal(missing, []int64{7}) {
		t.Fatalf("version 3 again: found %v, missing %v", urls, missing)
	}

	// A newer version empties the cache.
	if urls, missing := cachedURLs(c, 5, now, 1, 2); len(urls) != 0 || !slices.Equal(missing, []int64{1, 2}) {
		t.Fatalf("version 5: found %v, missing %v", urls, missing)
	}
	// Targets read after a claim that saw version 3 are no newer than what
	// version 3 allows: once the cache is at 5 they are not kept.
	c.keep(3, map[int64]*hookd.Target{1: {WebhookID: 1, URL: "stale"}})
	if urls, missing := cachedURLs(c, 5, now, 1); len(urls) != 0 || !slices.Equal(missing, []int64{1}) {
		t.Fatalf("after a keep for version 3: found %v, missing %v", urls, missing)
	}
	c.keep(5, map[int64]*hookd.Target{1: {WebhookID: 1, URL: "v5-1"}})

	// A claim that saw an older version (its transaction began before the
	// change) may use the newer targets, and leaves the cache at 5.
	if urls, missing := cachedURLs(c, 4, now, 1); urls[1] != "v5-1" || len(missing) != 0 {
		t.Fatalf("version 4 on a cache at 5: found %v, missing %v", urls, missing)
	}
	if urls, missing := cachedURLs(c, 5, now, 1); urls[1] != "v5-1" || len(missing) != 0 {
		t.Fatalf("version 5 after a lookup at 4: found %v, missing %v", urls, missing)
	}
	// A keep for the older version is ignored too.
	c.keep(4, map[int64]*hookd.Target{1: {WebhookID: 1, URL: "v4-1"}})
	if urls, _ := cachedURLs(c, 5, now, 1); urls[1] != "v5-1" {
		t.Fatalf("after a keep for version 4: found %v", urls)
	}
}

// A target that holds a rotated secret is read again once that secret
// ends, though the version stays put: the secrets change with no write.
func TestTargetCacheSecretsUntil(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	until := now.Add(time.Hour)
	c := newTargetCache()
	c.lookup(1, now, nil)
	c.keep(1, map[int64]*hookd.Target{
		1: {WebhookID: 1, URL: "rotating", Secrets: []string{"new", "old"}, SecretsUntil: until},
		2: {WebhookID: 2, URL: "steady", Secrets: []string{"only"}},
	})

	if urls, missing := cachedURLs(c, 1, until.Add(-time.Millisecond), 1, 2); len(urls) != 2 || len(missing) != 0 {
		t.Fatalf("before the rotated secret ends: found %v, missing %v", urls, missing)
	}
	for _, at := range []time.Time{until, until.Add(time.Minute)} {
		if urls, missing := cachedURLs(c, 1, at, 1, 2); urls[2] != "steady" || len(urls) != 1 || !slices.Equal(missing, []int64{1}) {
			t.Fatalf("at %v: found %v, missing %v", at.Sub(until), urls, missing)
		}
	}
	// What is read again replaces it.
	c.keep(1, map[int64]*hookd.Target{1: {WebhookID: 1, URL: "rotated", Secrets: []string{"new"}}})
	if urls, missing := cachedURLs(c, 1, until.Add(time.Minute), 1); urls[1] != "rotated" || len(missing) != 0 {
		t.Fatalf("after reading it again: found %v, missing %v", urls, missing)
	}
}
