package hookd

import "time"

// ThrottleSlack is how late a claim may come for a throttled webhook and
// still keep its schedule: attempts missed within it go out at once, so the
// rate holds when claims come a little late, and a pause earns no more
// than rate × ThrottleSlack + 1 attempts at once.
const ThrottleSlack = 20 * time.Millisecond

// Throttle is a webhook's rate cap (WebhookSettings.MaxPerSecond), kept by
// the store and shared by every process: a GCRA schedule where each attempt
// moves NextAt by one interval (1/rate) and an attempt may go out once
// NextAt has come.
type Throttle struct {
	// PerSecond is the cap; 0 is none.
	PerSecond float64
	// NextAt is when the next attempt may go out; nil when none went out
	// yet.
	NextAt *time.Time
}

// interval is the time between two attempts at the throttle's rate.
func (t Throttle) interval() time.Duration {
	return time.Duration(float64(time.Second) / t.PerSecond)
}

// start is the first slot a claim at now may use: NextAt, but no earlier
// than ThrottleSlack before now.
func (t Throttle) start(now time.Time) time.Time {
	from := now.Add(-ThrottleSlack)
	if t.NextAt != nil && t.NextAt.After(from) {
		return *t.NextAt
	}
	return from
}

// Allows returns how many attempts a claim at now may start (-1: no cap).
func (t Throttle) Allows(now time.Time) int {
	if t.PerSecond <= 0 {
		return -1
	}
	start := t.start(now)
	if start.After(now) {
		return 0
	}
	return int(now.Sub(start)/t.interval()) + 1
}

// Take returns the throttle after a claim at now started n attempts.
func (t Throttle) Take(now time.Time, n int) Throttle {
	if t.PerSecond <= 0 || n <= 0 {
		return t
	}
	// Stores keep milliseconds: round up, so that the rate is never
	// exceeded.
	next := t.start(now).Add(time.Duration(n)*t.interval() + time.Millisecond - 1).Truncate(time.Millisecond)
	t.NextAt = &next
	return t
}
