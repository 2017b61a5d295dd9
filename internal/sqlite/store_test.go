package sqlite_test

import (
	"github.com/hookd/hookd/internal/storeopt"
	"path/filepath"
	"testing"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/sqlite"
	"github.com/hookd/hookd/internal/storetest"
)

// TestStore runs the storage contract against a fresh database file.
func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T, clock hookd.Clock) hookd.Store {
		return openTemp(t, storeopt.WithClock(clock))
	})
}

func openTemp(t *testing.T, opts ...storeopt.Option) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "hookd.db"), opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}
