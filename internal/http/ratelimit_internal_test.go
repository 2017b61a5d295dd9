package http

import (
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

func TestLimiterSet(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLimiterSet(rate.Limit(2), 4, 0) // refills in 2 s
	for i := 0; i < 4; i++ {
		if wait, ok := l.allow("k", t0); !ok {
			t.Fatalf("request %d refused (wait %s)", i+1, wait)
		}
	}
	wait, ok := l.allow("k", t0)
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("fifth request: ok %v wait %s, want refused for 500ms", ok, wait)
	}
	// A refused request takes nothing: the token comes when it said.
	if _, ok := l.allow("k", t0.Add(499*time.Millisecond)); ok {
		t.Fatal("allowed before the wait was over")
	}
	if _, ok := l.allow("k", t0.Add(1000*time.Millisecond)); !ok {
		t.Fatal("refused after the wait")
	}
	if _, ok := l.allow("other", t0); !ok {
		t.Fatal("another key was refused")
	}

}

// wait says what a refusal would, and takes nothing: a bucket keeps its
// tokens, and an address with none gets none made.
func TestLimiterSetWait(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLimiterSet(rate.Limit(2), 2, 0)
	if wait := l.wait("k", t0); wait != 0 || l.size() != 0 {
		t.Fatalf("unseen key: wait %s, %d buckets; want 0, 0", wait, l.size())
	}
	l.allow("k", t0)
	for range 3 {
		if wait := l.wait("k", t0); wait != 0 {
			t.Fatalf("a token left: wait %s, want 0", wait)
		}
	}
	l.allow("k", t0)
	refused, _ := l.allow("k", t0.Add(100*time.Millisecond))
	if wait := l.wait("k", t0.Add(100*time.Millisecond)); wait != refused || wait != 400*time.Millisecond {
		t.Fatalf("wait %s, refusal %s; want both 400ms", wait, refused)
	}
}

// Memory stays bounded: idle buckets are dropped once they would be full,
// and the address set never holds more than its bound.
func TestLimiterSetEviction(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLimiterSet(rate.Limit(10), 20, 0) // full again after 2 s
	for i := 0; i < 1000; i++ {
		l.allow(fmt.Sprintf("key%d", i), t0)
	}
	if n := l.size(); n != 1000 {
		t.Fatalf("%d buckets, want 1000", n)
	}
	l.allow("key1", t0.Add(time.Second)) // active
	l.allow("late", t0.Add(2*time.Second))
	if n := l.size(); n != 2 {
		t.Fatalf("%d buckets after the idle ones were swept, want 2 (key1, late)", n)
	}

	bounded := newLimiterSet(rate.Limit(1), 1, 100)
	for i := 0; i < 10000; i++ {
		bounded.allow(fmt.Sprintf("10.0.%d.%d", i/256, i%256), t0)
	}
	if n := bounded.size(); n > 100 {
		t.Fatalf("%d addresses tracked, bound 100", n)
	}
}

func TestClientAddress(t *testing.T) {
	for remote, want := range map[string]string{
		"127.0.0.1:5555":             "127.0.0.1",
		"[::ffff:10.1.2.3]:80":       "10.1.2.3",
		"[2001:db8:1:2:3:4:5:6]:443": "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::1]:443": "2001:db8:1:2::/64",
		"[fe80::1%eth0]:80":          "fe80::/64",
		"not an address":             "not an address",
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = remote
		if got := clientAddress(r); got != want {
			t.Errorf("clientAddress(%q) = %q, want %q", remote, got, want)
		}
	}
}

// With the defaults, one key may publish 10,000 single events a second,
// sustained, without a 429: 50,000 requests evenly over five seconds, and
// as many again at once after a pause.
func TestDefaultKeyBudget(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLimiterSet(rate.Limit(DefaultRateLimits.PerSecond), DefaultRateLimits.Burst, 0)
	const perSecond = 10_000
	for i := range 5 * perSecond {
		if _, ok := l.allow("publisher", t0.Add(time.Duration(i)*time.Second/perSecond)); !ok {
			t.Fatalf("request %d refused at %d a second", i, perSecond)
		}
	}
	later := t0.Add(time.Minute)
	for i := range perSecond {
		if _, ok := l.allow("publisher", later); !ok {
			t.Fatalf("request %d of a burst of %d refused", i, perSecond)
		}
	}
}
