package sqlite

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/migrate"
	"github.com/hookd/hookd/internal/migrate/migratetest"
)

// TestMigrator runs the shared migration suite on a file of its own per
// test, each driver with a one-connection writer pool of its own (a
// process), beginning IMMEDIATE as the store's writer does.
func TestMigrator(t *testing.T) {
	migratetest.Run(t, func(t *testing.T) func() migrate.Driver {
		path := filepath.Join(t.TempDir(), "migrate.db")
		return func() migrate.Driver {
			db, err := sql.Open("sqlite", fmt.Sprintf("%s?_busy_timeout=%d&_txlock=immediate", path, busyTimeout.Milliseconds()))
			if err != nil {
				t.Fatal(err)
			}
			db.SetMaxOpenConns(1)
			t.Cleanup(func() { db.Close() })
			return migrationDriver{db: db, clock: hookd.SystemClock}
		}
	})
}

// TestMigrateUpgradesEarlierDatabase opens a file that an earlier hookd
// migrated to 0001 only, recorded as it did, and checks that the rest is
// applied and recorded.
func TestMigrateUpgradesEarlierDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hookd.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	first, err := os.ReadFile("migrations/0001_initial.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		string(first),
		`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`,
		`INSERT INTO schema_migrations (version, applied_at) VALUES (1, 1700000000000)`,
	} {
		if _, err := db.ExecContext(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	s := open(t, path)
	var got []int
	rows, err := s.r.QueryContext(t.Context(), `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	all, err := migrate.Load(migrationFiles)
	if err != nil {
		t.Fatal(err)
	}
	var want []int
	for _, m := range all {
		want = append(want, m.Version)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("schema_migrations holds %v, want %v", got, want)
	}
}

// TestMigratePayloadsWaiting: migration 0023 notes the events that payload
// retention passed and kept before it (still holding data, older than
// where it ended), so that a later run clears them; it leaves the newer
// events and those cleared.
func TestMigratePayloadsWaiting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hookd.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	all, err := migrate.Load(migrationFiles)
	if err != nil {
		t.Fatal(err)
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(t.Context(), q, args...); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`)
	for _, m := range all {
		if m.Version >= 23 {
			break
		}
		exec(m.SQL)
		exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, 1700000000000)`, m.Version)
	}
	for _, e := range []struct {
		id, data string
		at       int64
	}{{"kept", `{"a":1}`, 1000}, {"cleared", `{}`, 1000}, {"newer", `{"a":2}`, 3000}} {
		exec(`INSERT INTO events (id, event, data, created_at) VALUES (?, 'ASSET_ADDED', ?, ?)`, e.id, e.data, e.at)
	}
	exec(`INSERT INTO payloads_cleared (table_name, cleared_before) VALUES ('events', 2000)`)
	db.Close()

	s := open(t, path)
	var waiting []string
	rows, err := s.r.QueryContext(t.Context(), `SELECT event_id FROM payloads_waiting ORDER BY event_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		waiting = append(waiting, id)
	}
	if !slices.Equal(waiting, []string{"kept"}) {
		t.Fatalf("payloads_waiting %v, want [kept]", waiting)
	}
}
