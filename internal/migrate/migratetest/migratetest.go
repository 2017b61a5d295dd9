// Package migratetest is the suite that every store's migrate.Driver
// passes, so that migrations behave the same on each database.
package migratetest

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/hookd/hookd/internal/migrate"
)

// NewDatabase creates an empty database for one test and returns a function
// that opens a migration driver on it. Each driver has connections of its
// own, as a separate hookd process would.
type NewDatabase func(t *testing.T) (open func() migrate.Driver)

// files is a set of migrations: file name (in migrate.Dir) to SQL. The SQL
// used is common to SQLite and PostgreSQL, and a CREATE TABLE fails when
// run twice, which shows a migration applied twice.
func files(m map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for name, sql := range m {
		fsys[migrate.Dir+"/"+name] = &fstest.MapFile{Data: []byte(sql)}
	}
	return fsys
}

// Run runs the suite, each test on a database of its own.
func Run(t *testing.T, newDatabase NewDatabase) {
	const (
		a = "CREATE TABLE a (x INTEGER NOT NULL);"
		b = "CREATE TABLE b (x INTEGER NOT NULL); INSERT INTO a (x) VALUES (2);"
	)
	first := files(map[string]string{"0001_a.sql": a, "0002_b.sql": b})

	t.Run("FreshThenIdempotent", func(t *testing.T) {
		d := newDatabase(t)()
		run(t, d, first)
		wantVersions(t, d, 1, 2)
		run(t, d, first)
		wantVersions(t, d, 1, 2)
	})

	t.Run("AppliesOnlyTheNewOnes", func(t *testing.T) {
		d := newDatabase(t)()
		run(t, d, first)
		run(t, d, files(map[string]string{"0001_a.sql": a, "0002_b.sql": b, "0003_c.sql": "CREATE TABLE c (x INTEGER NOT NULL);"}))
		wantVersions(t, d, 1, 2, 3)
	})

	t.Run("OrderedByNumberNotName", func(t *testing.T) {
		d := newDatabase(t)()
		// By name, "10_fill" sorts before "9_create" and would fail.
		run(t, d, files(map[string]string{
			"9_create.sql": "CREATE TABLE t (x INTEGER NOT NULL);",
			"10_fill.sql":  "INSERT INTO t (x) VALUES (10);",
			"0011_end.sql": "INSERT INTO t (x) VALUES (11);",
		}))
		wantVersions(t, d, 9, 10, 11)
	})

	t.Run("RefusesNewerSchema", func(t *testing.T) {
		d := newDatabase(t)()
		run(t, d, first)
		err := migrate.Run(t.Context(), d, files(map[string]string{"0001_a.sql": a}))
		var newer *migrate.NewerSchemaError
		if !errors.As(err, &newer) || newer.Version != 2 || newer.Known != 1 {
			t.Fatalf("Run with migration 0002 recorded but unknown = %v, want a NewerSchemaError for version 2, knowing 1", err)
		}
		if !strings.Contains(err.Error(), "upgrade hookd") {
			t.Errorf("error %q does not say what to do", err)
		}
		wantVersions(t, d, 1, 2)
	})

	t.Run("RefusesUnknownOlderVersion", func(t *testing.T) {
		d := newDatabase(t)()
		run(t, d, first)
		err := migrate.Run(t.Context(), d, files(map[string]string{
			"0001_a.sql": a,
			"0003_c.sql": "CREATE TABLE c (x INTEGER NOT NULL);",
		}))
		if err == nil || !strings.Contains(err.Error(), "version 2 is unknown") {
			t.Fatalf("Run without the recorded migration 0002 = %v, want it refused", err)
		}
		wantVersions(t, d, 1, 2)
	})

	t.Run("RefusesBadFileSets", func(t *testing.T) {
		d := newDatabase(t)()
		for _, bad := range []map[string]string{
			{"0001_a.sql": "SELECT 1;", "init.sql": "SELECT 1;"},
			{"0001_a.sql": "SELECT 1;", "0002-b.sql": "SELECT 1;"},
			{"0001_a.sql": "SELECT 1;", "0002_.sql": "SELECT 1;"},
			{"0001_a.sql": "SELECT 1;", "0000_zero.sql": "SELECT 1;"},
			{"0001_a.sql": "SELECT 1;", "0002_b.txt": "SELECT 1;"},
			{"0001_a.sql": "SELECT 1;", "1_again.sql": "SELECT 1;"},
			{},
		} {
			if err := migrate.Run(t.Context(), d, files(bad)); err == nil {
				t.Errorf("Run accepted the migrations %v", slices.Sorted(maps.Keys(bad)))
			}
		}
		wantVersions(t, d)
	})

	t.Run("FailureLeavesNothingApplied", func(t *testing.T) {
		d := newDatabase(t)()
		err := migrate.Run(t.Context(), d, files(map[string]string{
			"0001_a.sql": a,
			"0002_b.sql": "CREATE TABLE b (x INTEGER NOT NULL); INSERT INTO missing (x) VALUES (1);",
		}))
		if err == nil || !strings.Contains(err.Error(), "0002_b") {
			t.Fatalf("Run with a failing 0002_b = %v, want an error naming it", err)
		}
		wantVersions(t, d)
		// Tables a and b were not left behind: creating them succeeds.
		run(t, d, first)
		wantVersions(t, d, 1, 2)
	})

	t.Run("ConcurrentMigrators", func(t *testing.T) {
		open := newDatabase(t)
		drivers := []migrate.Driver{open(), open(), open()}
		var wg sync.WaitGroup
		errs := make([]error, len(drivers))
		for i, d := range drivers {
			wg.Go(func() { errs[i] = migrate.Run(t.Context(), d, first) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("migrator %d: %v", i, err)
			}
		}
		wantVersions(t, drivers[0], 1, 2)
	})
}

func run(t *testing.T, d migrate.Driver, fsys fstest.MapFS) {
	t.Helper()
	if err := migrate.Run(t.Context(), d, fsys); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

func wantVersions(t *testing.T, d migrate.Driver, want ...int) {
	t.Helper()
	var got []int
	err := d.Locked(t.Context(), func(tx migrate.Tx) error {
		var err error
		got, err = tx.Versions(t.Context())
		return err
	})
	if err != nil {
		t.Fatalf("Versions: %v", err)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("recorded versions %v, want %v", got, want)
	}
}
