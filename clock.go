package hookd

import "time"

// Clock tells hookd the time. The stores, the dispatcher, the rate limiter
// and the HTTP handlers all read it from the one Clock they are given, so
// that tests move time forward instead of sleeping.
type Clock interface {
	// Now returns the current time in UTC at the precision hookd stores
	// and shows (milliseconds).
	Now() time.Time
}

// SystemClock is the wall clock.
var SystemClock Clock = systemClock{}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }
