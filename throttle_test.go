package hookd

import (
	"testing"
	"time"
)

func TestThrottle(t *testing.T) {
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { v := now.Add(d); return &v }
	for _, c := range []struct {
		name   string
		in     Throttle
		allows int
		take   int
		next   *time.Time
	}{
		{"no cap", Throttle{}, -1, 5, nil},
		{"never used", Throttle{PerSecond: 20}, 1, 1, at(30 * time.Millisecond)},
		{"idle long", Throttle{PerSecond: 20, NextAt: at(-time.Hour)}, 1, 1, at(30 * time.Millisecond)},
		{"slot to come", Throttle{PerSecond: 20, NextAt: at(time.Millisecond)}, 0, 0, at(time.Millisecond)},
		{"slot now", Throttle{PerSecond: 20, NextAt: at(0)}, 1, 1, at(50 * time.Millisecond)},
		// a claim 10 ms late keeps the schedule: the next slot is 40 ms away
		{"slot a little late", Throttle{PerSecond: 20, NextAt: at(-10 * time.Millisecond)}, 1, 1, at(40 * time.Millisecond)},
		// a high rate lets out what the slack holds: 20 ms at 1000/s
		{"high rate", Throttle{PerSecond: 1000, NextAt: at(-time.Second)}, 21, 21, at(time.Millisecond)},
		{"high rate, fewer taken", Throttle{PerSecond: 1000, NextAt: at(-time.Second)}, 21, 3, at(-17 * time.Millisecond)},
		// 3 a second: 333.33 ms rounded up to the store's milliseconds
		{"fractional interval", Throttle{PerSecond: 3, NextAt: at(0)}, 1, 1, at(334 * time.Millisecond)},
	} {
		if got := c.in.Allows(now); got != c.allows {
			t.Errorf("%s: Allows = %d, want %d", c.name, got, c.allows)
		}
		next := c.in.Take(now, c.take).NextAt
		if (next == nil) != (c.next == nil) || next != nil && !next.Equal(*c.next) {
			t.Errorf("%s: Take(%d).NextAt = %v, want %v", c.name, c.take, next, c.next)
		}
	}
}

// A claimer that claims every millisecond gets the throttle's rate, and
// one that comes late by less than the slack does too.
func TestThrottleRate(t *testing.T) {
	start := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	for _, step := range []time.Duration{time.Millisecond, 7 * time.Millisecond, 19 * time.Millisecond} {
		th := Throttle{PerSecond: 20}
		sent := 0
		for now := start; now.Before(start.Add(10 * time.Second)); now = now.Add(step) {
			if n := th.Allows(now); n > 0 {
				sent += n
				th = th.Take(now, n)
			}
		}
		if sent < 199 || sent > 201 {
			t.Errorf("claims every %v: %d attempts in 10 s, want 200", step, sent)
		}
	}
}
