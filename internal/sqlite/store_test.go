package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/sqlite"
	"github.com/hookd/hookd/internal/storetest"
)

// TestStore runs the storage contract against a fresh database file.
func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) hookd.Store {
		return openTemp(t)
	})
}

func openTemp(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "hookd.db"))
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
