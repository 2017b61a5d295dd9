package delivery

import (
	"sync"
	"time"

	"github.com/hookd/hookd"
)

// targetCache keeps the webhooks' targets that claims and handoffs read,
// while the targets' version (hookd.Claimed.TargetsVersion) stays put: a
// delivery then costs no read of its webhook's URL, headers and secrets.
// A version that moves empties it; a target whose rotated secret ends
// (hookd.Target.SecretsUntil) is read again from then on.
type targetCache struct {
	mu      sync.Mutex
	version int64
	byID    map[int64]*hookd.Target
}

func newTargetCache() *targetCache { return &targetCache{byID: map[int64]*hookd.Target{}} }

// lookup returns the targets of ids that are current for a claim that saw
// version at now, and the ids it lacks. A version newer than the cache's
// empties it.
func (c *targetCache) lookup(version int64, now time.Time, ids []int64) (map[int64]*hookd.Target, []int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if version > c.version {
		clear(c.byID)
		c.version = version
	}
	found := make(map[int64]*hookd.Target, len(ids))
	var missing []int64
	for _, id := range ids {
		t := c.byID[id]
		if t == nil || !t.SecretsUntil.IsZero() && !now.Before(t.SecretsUntil) {
			missing = append(missing, id)
			continue
		}
		found[id] = t
	}
	return found, missing
}

// keep adds targets read after a claim that saw version: they are at
// least that new, so they are kept unless the cache has moved past it
// meanwhile.
func (c *targetCache) keep(version int64, targets map[int64]*hookd.Target) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if version != c.version {
		return
	}
	for id, t := range targets {
		c.byID[id] = t
	}
}
