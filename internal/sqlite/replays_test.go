package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/sqlite"
	"github.com/hookd/hookd/internal/storetest"
)

// A replay goes on where it stood after a restart.
func TestReplayResumesAfterRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hookd.db")
	open := func() hookd.Store {
		s, err := sqlite.Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	first := open()
	storetest.ReplayResumes(t, first, func() hookd.Store {
		if err := first.Close(); err != nil {
			t.Fatal(err)
		}
		return open()
	})
}
