package sqlite_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/clocktest"
	"github.com/hookd/hookd/internal/sqlite"
	"github.com/hookd/hookd/internal/storeopt"
	"github.com/hookd/hookd/internal/storetest"
)

// TestLanesAcrossProcesses: two stores on one file (two hookd processes)
// publish and claim an ordered webhook's lanes at once.
func TestLanesAcrossProcesses(t *testing.T) {
	clock := clocktest.New(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC))
	path := filepath.Join(t.TempDir(), "hookd.db")
	open := func() *sqlite.Store {
		s, err := sqlite.Open(t.Context(), path, storeopt.WithClock(clock))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	storetest.LanesAcrossStores(t, open(), open(), clock)
}
