package sqlite_test

import (
	"testing"
	"time"

	"github.com/hookd/hookd/internal/clocktest"
	"github.com/hookd/hookd/internal/storeopt"
	"github.com/hookd/hookd/internal/storetest"
)

// TestLanesAcrossProcesses: two stores on one file (two hookd processes)
// publish and claim an ordered webhook's lanes at once.
func TestLanesAcrossProcesses(t *testing.T) {
	clock := clocktest.New(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC))
	a, b := twoProcesses(t, storeopt.WithClock(clock))
	storetest.LanesAcrossStores(t, a, b, clock)
}
