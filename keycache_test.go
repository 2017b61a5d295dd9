package hookd_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/clocktest"
)

// keyReads is a store whose only method is APIKeyByPrefix, counting its
// reads; release, when set, holds every read until it is closed.
type keyReads struct {
	hookd.Store
	reads   atomic.Int64
	mu      sync.Mutex
	keys    map[string]*hookd.APIKey
	release chan struct{}
}

func (s *keyReads) APIKeyByPrefix(ctx context.Context, prefix string) (*hookd.APIKey, error) {
	s.reads.Add(1)
	if s.release != nil {
		<-s.release
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if k, ok := s.keys[prefix]; ok {
		return k, nil
	}
	return nil, hookd.ErrNotFound
}

// cacheOfOneKey returns a cache, timed by a test clock, of a store that
// holds the key "abcde", which it has read once.
func cacheOfOneKey(t *testing.T) (*hookd.KeyCache, *keyReads, *clocktest.Clock) {
	t.Helper()
	clock := clocktest.New(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	store := &keyReads{keys: map[string]*hookd.APIKey{"abcde": {ID: 1, Prefix: "abcde"}}}
	cache := hookd.NewKeyCache(store, clock)
	if _, err := cache.Key(context.Background(), "abcde"); err != nil {
		t.Fatal(err)
	}
	return cache, store, clock
}

func (s *keyReads) revoke(prefix string) {
	s.mu.Lock()
	delete(s.keys, prefix)
	s.mu.Unlock()
}

// A key is read once per KeyStaleness however often it is used, and a
// revocation made elsewhere is seen once the copy is that old.
func TestKeyCacheReadsOncePerStaleness(t *testing.T) {
	ctx := context.Background()
	clock := clocktest.New(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	store := &keyReads{keys: map[string]*hookd.APIKey{"abcde": {ID: 1, Prefix: "abcde"}}}
	cache := hookd.NewKeyCache(store, clock)

	for range 1000 {
		if k, err := cache.Key(ctx, "abcde"); err != nil || k.ID != 1 {
			t.Fatalf("Key = %v, %v", k, err)
		}
	}
	if n := store.reads.Load(); n != 1 {
		t.Fatalf("1,000 uses read the key %d times, want 1", n)
	}

	store.revoke("abcde") // by another process
	clock.Advance(hookd.KeyStaleness - time.Millisecond)
	if _, err := cache.Key(ctx, "abcde"); err != nil {
		t.Fatalf("within KeyStaleness the copy serves: %v", err)
	}
	clock.Advance(time.Millisecond)
	if _, err := cache.Key(ctx, "abcde"); !errors.Is(err, hookd.ErrNotFound) {
		t.Fatalf("after KeyStaleness a revoked key: %v, want ErrNotFound", err)
	}
	if _, err := cache.Key(ctx, "abcde"); !errors.Is(err, hookd.ErrNotFound) {
		t.Fatalf("a revoked key again: %v", err)
	}
	if n := store.reads.Load(); n != 3 {
		t.Fatalf("reads = %d, want 3: an unknown prefix is read each time, never cached", n)
	}
}

// Unknown prefixes, as a client trying random keys sends, are not kept:
// they cannot fill the cache or push out the keys in use.
func TestKeyCacheKeepsOnlyStoredKeys(t *testing.T) {
	ctx := context.Background()
	cache, store, _ := cacheOfOneKey(t)
	for i := range 20_000 {
		if _, err := cache.Key(ctx, "x"+string(rune('a'+i%26))+time.Duration(i).String()); !errors.Is(err, hookd.ErrNotFound) {
			t.Fatalf("random prefix: %v", err)
		}
	}
	before := store.reads.Load()
	if _, err := cache.Key(ctx, "abcde"); err != nil || store.reads.Load() != before {
		t.Fatalf("the key in use was pushed out by unknown prefixes (err %v)", err)
	}
}

// Holds tells a key the cache has read, however old its copy, from one it
// has not, and reads nothing; a key found revoked, or a Clear, drops it.
func TestKeyCacheHolds(t *testing.T) {
	ctx := context.Background()
	cache, store, clock := cacheOfOneKey(t)
	clock.Advance(time.Hour)
	if !cache.Holds("abcde") || cache.Holds("fghij") || store.reads.Load() != 1 {
		t.Fatalf("Holds: read %d times; want the key held, the unknown prefix not, one read", store.reads.Load())
	}
	store.revoke("abcde")
	if _, err := cache.Key(ctx, "abcde"); !errors.Is(err, hookd.ErrNotFound) || cache.Holds("abcde") {
		t.Fatalf("a key found revoked: %v, held %v", err, cache.Holds("abcde"))
	}
	store.keys["abcde"] = &hookd.APIKey{ID: 1, Prefix: "abcde"}
	if _, err := cache.Key(ctx, "abcde"); err != nil {
		t.Fatal(err)
	}
	cache.Clear()
	if cache.Holds("abcde") {
		t.Fatal("held after Clear")
	}
}

// When a key has no fresh copy, concurrent requests for it wait on one read
// instead of each reading it.
func TestKeyCacheOneReadForConcurrentRequests(t *testing.T) {
	ctx := context.Background()
	clock := clocktest.New(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	store := &keyReads{keys: map[string]*hookd.APIKey{"abcde": {ID: 1, Prefix: "abcde"}}, release: make(chan struct{})}
	cache := hookd.NewKeyCache(store, clock)

	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for range 32 {
		wg.Go(func() {
			_, err := cache.Key(ctx, "abcde")
			errs <- err
		})
	}
	for store.reads.Load() == 0 { // the first read has started; the others join it
		time.Sleep(time.Millisecond)
	}
	close(store.release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := store.reads.Load(); n > 2 {
		t.Fatalf("32 concurrent requests read the key %d times", n)
	}
}

// A wall clock stepped back does not keep a copy fresh: read "after" now,
// it is read again, and a key revoked meanwhile is refused.
func TestKeyCacheClockStepsBack(t *testing.T) {
	ctx := context.Background()
	cache, store, clock := cacheOfOneKey(t)
	clock.Advance(-time.Hour)
	store.revoke("abcde")
	clock.Advance(2 * time.Second)
	if _, err := cache.Key(ctx, "abcde"); !errors.Is(err, hookd.ErrNotFound) {
		t.Errorf("revoked 2 s ago, after the clock stepped back an hour: %v, want ErrNotFound", err)
	}
}

// snapshotReads answers a read from the keys as they were when it began,
// after waiting for release: a read that a revocation overtakes.
type snapshotReads struct {
	hookd.Store
	mu      sync.Mutex
	keys    map[string]*hookd.APIKey
	started chan struct{}
	release chan struct{}
}

func (s *snapshotReads) APIKeyByPrefix(ctx context.Context, prefix string) (*hookd.APIKey, error) {
	s.mu.Lock()
	k, ok := s.keys[prefix]
	started := s.started
	s.started = nil
	s.mu.Unlock()
	if started != nil {
		close(started)
		<-s.release
	}
	if !ok {
		return nil, hookd.ErrNotFound
	}
	return k, nil
}

// Clear, which the process that revokes a key calls, is not undone by a
// read of the key that began before the revocation: the read keeps no
// copy, and the requests after Clear do not wait on it for their answer.
func TestKeyCacheClearOvertakesARead(t *testing.T) {
	ctx := context.Background()
	clock := clocktest.New(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	store := &snapshotReads{keys: map[string]*hookd.APIKey{"abcde": {ID: 1, Prefix: "abcde"}},
		started: make(chan struct{}), release: make(chan struct{})}
	started := store.started
	cache := hookd.NewKeyCache(store, clock)
	done := make(chan struct{})
	go func() {
		cache.Key(ctx, "abcde") // began before the revocation: may see the key
		close(done)
	}()
	<-started
	store.mu.Lock()
	delete(store.keys, "abcde")
	store.mu.Unlock()
	cache.Clear()
	after := make(chan error, 1)
	go func() {
		_, err := cache.Key(ctx, "abcde")
		after <- err
	}()
	select {
	case err := <-after: // it did not wait for the earlier read
		if !errors.Is(err, hookd.ErrNotFound) {
			t.Errorf("a request after Clear: %v, want ErrNotFound", err)
		}
		close(store.release)
	case <-time.After(10 * time.Second):
		close(store.release)
		t.Errorf("a request after Clear waited for the read begun before it, and got %v", <-after)
	}
	<-done
	if _, err := cache.Key(ctx, "abcde"); !errors.Is(err, hookd.ErrNotFound) {
		t.Errorf("after the earlier read ended: %v, want ErrNotFound", err)
	}
}
