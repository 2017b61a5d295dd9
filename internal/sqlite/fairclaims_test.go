package sqlite_test

import (
	"github.com/hookd/hookd/internal/storeopt"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/clocktest"
	"github.com/hookd/hookd/internal/sqlite"
	"github.com/hookd/hookd/internal/storetest"
)

// TestShareAcrossProcesses: two stores on one file (two hookd processes)
// keep a webhook within one share between them.
func TestShareAcrossProcesses(t *testing.T) {
	clock := clocktest.New(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC))
	a, b := twoProcesses(t, storeopt.WithClock(clock))
	storetest.ShareAcrossStores(t, a, b, clock)
}

func BenchmarkFairClaim(b *testing.B) { storetest.BenchmarkFairClaim(b, openBench(b)) }

// TestSubscriptionsAcrossProcesses: a publish through one store matches
// with the changes made through another on the same file.
func TestSubscriptionsAcrossProcesses(t *testing.T) {
	a, b := twoProcesses(t)
	storetest.SubscriptionsAcrossStores(t, a, b)
}

// TestFanOutAcrossProcesses: a large fan-out is created in chunks, by the
// publishing store or another on the same file.
func TestFanOutAcrossProcesses(t *testing.T) {
	a, b := twoProcesses(t, storeopt.WithFanOutChunk(storetest.FanOutChunk))
	storetest.FanOut(t, a, b)
}

// twoProcesses opens two stores with opts on one new file, as two hookd
// processes on one database.
func twoProcesses(t *testing.T, opts ...storeopt.Option) (*sqlite.Store, *sqlite.Store) {
	path := filepath.Join(t.TempDir(), "hookd.db")
	open := func() *sqlite.Store {
		s, err := sqlite.Open(t.Context(), path, opts...)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	return open(), open()
}
