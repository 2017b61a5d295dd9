package hookd

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// KeyStaleness bounds how long a process may go on accepting a key after it
// was revoked anywhere: by the API of this process or of another one on
// the same database, or by "hookd keys revoke" run beside a server on the
// same SQLite file. A KeyCache reads a key again once its copy is this old,
// so a publisher that sends thousands of requests a second costs one read
// of its key a second, and no process needs to be told of a revocation.
const KeyStaleness = time.Second

// MaxCachedKeys bounds a KeyCache's memory. Only stored keys are kept (an
// unknown prefix is never cached, so random prefixes cannot fill it); past
// the bound the oldest copies go first.
const MaxCachedKeys = 10_000

// KeyCache serves API keys by prefix from memory, reading the store at most
// once per key every KeyStaleness, and once for concurrent requests that
// all need the same key read again.
type KeyCache struct {
	lookup func(ctx context.Context, prefix string) (*APIKey, error)
	clock  Clock

	reads singleflight.Group
	mu    sync.Mutex
	keys  map[string]cachedKey
	// cleared counts the Clears: a read begun before one neither keeps its
	// copy nor serves the requests that come after it.
	cleared uint64
}

type cachedKey struct {
	key  *APIKey
	read time.Time
}

// NewKeyCache returns a cache of store's keys, timed by clock.
func NewKeyCache(store Store, clock Clock) *KeyCache {
	return &KeyCache{lookup: store.APIKeyByPrefix, clock: clock, keys: make(map[string]cachedKey)}
}

// Key returns the stored key with prefix, or ErrNotFound. The copy may be
// up to KeyStaleness old; callers must not modify it.
func (c *KeyCache) Key(ctx context.Context, prefix string) (*APIKey, error) {
	now := c.clock.Now()
	c.mu.Lock()
	cached, ok := c.keys[prefix]
	cleared := c.cleared
	c.mu.Unlock()
	// A copy read "after" now was read before the clock stepped back: how
	// old it is, no one knows.
	if ok && now.Sub(cached.read) < KeyStaleness && !now.Before(cached.read) {
		return cached.key, nil
	}
	v, err, _ := c.reads.Do(strconv.FormatUint(cleared, 10)+"/"+prefix, func() (any, error) {
		read := c.clock.Now()
		// Not the first caller's cancellation: the others wait on this read.
		k, err := c.lookup(context.WithoutCancel(ctx), prefix)
		c.mu.Lock()
		defer c.mu.Unlock()
		switch {
		case c.cleared != cleared:
			// Cleared meanwhile: the key may have been revoked after it
			// was read.
		case err == nil:
			c.evictFor(prefix)
			c.keys[prefix] = cachedKey{key: k, read: read}
		case errors.Is(err, ErrNotFound):
			delete(c.keys, prefix)
		}
		return k, err
	})
	if err != nil {
		return nil, err
	}
	return v.(*APIKey), nil
}

// Holds says whether c has a copy of the stored key with prefix, however
// old: a key this process has read since its last Clear. It reads nothing.
func (c *KeyCache) Holds(prefix string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.keys[prefix]
	return ok
}

// Clear drops every copy, so that the process that revokes a key refuses it
// at once (revocations are rare; the next request of each key reads it).
func (c *KeyCache) Clear() {
	c.mu.Lock()
	clear(c.keys)
	c.cleared++
	c.mu.Unlock()
}

// evictFor makes room for prefix, dropping the oldest copy when the cache
// is full. Called with c.mu held.
func (c *KeyCache) evictFor(prefix string) {
	if _, ok := c.keys[prefix]; ok || len(c.keys) < MaxCachedKeys {
		return
	}
	var oldest string
	var oldestRead time.Time
	for p, k := range c.keys {
		if oldest == "" || k.read.Before(oldestRead) {
			oldest, oldestRead = p, k.read
		}
	}
	delete(c.keys, oldest)
}
