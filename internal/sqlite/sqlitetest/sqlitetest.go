// Package sqlitetest gives tests a SQLite hookd store of their own, the
// counterpart of pgtest for the embedded database.
//
// Each Open makes a database file in a fresh t.TempDir, so tests can run
// in parallel without sharing data, and nothing is left behind when they
// end. A test whose database path matters (it opens the file again, or
// hands it to hookd serve --database) opens its store itself with
// sqlite.Open.
package sqlitetest

import (
	"path/filepath"
	"testing"

	"github.com/hookd/hookd/internal/sqlite"
	"github.com/hookd/hookd/internal/storeopt"
)

// Open returns a store with opts on the file hookd.db in a new temporary
// directory, and closes it when the test ends (before the directory is
// removed, which some systems refuse while the file is open).
func Open(t testing.TB, opts ...storeopt.Option) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "hookd.db"), opts...)
	if err != nil {
		t.Fatalf("sqlitetest: open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
