// Package alarm calls a function once the earliest of the times it was set
// for has come: a store's claim sets it for when a webhook held back (by
// its throttle or its circuit) may be served, so the dispatcher's Wakeup
// comes then instead of at its next poll.
package alarm

import (
	"sync"
	"time"
)

// Alarm is armed for at most one time at once; its zero value is unarmed.
type Alarm struct {
	mu    sync.Mutex
	timer *time.Timer
	at    time.Time
}

// Set arms the alarm to call ring in d, unless it already rings sooner.
func (a *Alarm) Set(d time.Duration, ring func()) {
	at := time.Now().Add(d)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.timer != nil && !a.at.After(at) {
		return
	}
	if a.timer != nil {
		a.timer.Stop()
	}
	a.at = at
	a.timer = time.AfterFunc(d, func() {
		a.mu.Lock()
		if a.at.Equal(at) {
			a.timer = nil
		}
		a.mu.Unlock()
		ring()
	})
}
