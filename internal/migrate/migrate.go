// Package migrate applies a store's schema migrations, the same way on
// every store: numbered SQL files, applied in order of their number, each
// recorded in the table schema_migrations, in one transaction that holds the
// database's migration lock. A database that records a version this hookd
// does not know (a newer hookd migrated it) is refused.
//
// What differs between databases (how to lock, how schema_migrations is
// laid out, how a file of several statements is run) is the store's Driver.
package migrate

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
)

// Dir is the directory of the migration files in the file system a store
// passes to Run.
const Dir = "migrations"

// Migration is one file of Dir, NNNN_name.sql. A released file is never
// edited: a change of schema is a new file.
type Migration struct {
	Version int    // NNNN, its place in the order
	Name    string // the file name without ".sql", e.g. "0001_init"
	SQL     string
}

// Driver is a store's side of the migrations.
type Driver interface {
	// Locked runs fn in one transaction that holds the database's migration
	// lock, so that migrators of one database (hookd processes starting
	// together) take turns, and commits it when fn succeeds: a failure
	// leaves the schema as it was.
	Locked(ctx context.Context, fn func(Tx) error) error
}

// Tx is a store's migration transaction.
type Tx interface {
	// Versions returns the versions that schema_migrations records,
	// creating the table when it is missing.
	Versions(ctx context.Context) ([]int, error)
	// Apply runs m.SQL, which may hold several statements, and records m in
	// schema_migrations.
	Apply(ctx context.Context, m Migration) error
}

// NewerSchemaError is the refusal of a database that a newer hookd
// migrated: this one was not written for its schema.
type NewerSchemaError struct {
	Version int // recorded in the database
	Known   int // the highest version this hookd has
}

func (e *NewerSchemaError) Error() string {
	return fmt.Sprintf("database schema version %d is newer than this hookd (knows up to %d): upgrade hookd", e.Version, e.Known)
}

// Run applies the migrations of files (Dir/NNNN_name.sql) that the database
// has not recorded, in order of their number.
func Run(ctx context.Context, d Driver, files fs.FS) error {
	all, err := Load(files)
	if err != nil {
		return err
	}
	known := make(map[int]bool, len(all))
	for _, m := range all {
		known[m.Version] = true
	}
	return d.Locked(ctx, func(tx Tx) error {
		recorded, err := tx.Versions(ctx)
		if err != nil {
			return err
		}
		applied := make(map[int]bool, len(recorded))
		for _, v := range recorded {
			applied[v] = true
			if known[v] {
				continue
			}
			if latest := all[len(all)-1].Version; v > latest {
				return &NewerSchemaError{Version: v, Known: latest}
			}
			// Below the newest known: a build with other migrations than
			// this one's (a branch) migrated the database.
			return fmt.Errorf("database schema version %d is unknown to this hookd, which has no migration %d", v, v)
		}
		for _, m := range all {
			if applied[m.Version] {
				continue
			}
			if err := tx.Apply(ctx, m); err != nil {
				return fmt.Errorf("%s: %w", m.Name, err)
			}
		}
		return nil
	})
}

// Load reads the migrations of files (Dir/NNNN_name.sql), in order of their
// number. Any other file in Dir, a version used twice, or no migration at
// all is an error: it would otherwise be skipped or applied out of turn.
func Load(files fs.FS) ([]Migration, error) {
	entries, err := fs.ReadDir(files, Dir)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	var all []Migration
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".sql")
		if !ok || e.IsDir() {
			return nil, fmt.Errorf("migration %s: want a file named NNNN_name.sql", e.Name())
		}
		v, err := ParseVersion(name)
		if err != nil {
			return nil, err
		}
		b, err := fs.ReadFile(files, path.Join(Dir, e.Name()))
		if err != nil {
			return nil, err
		}
		all = append(all, Migration{Version: v, Name: name, SQL: string(b)})
	}
	if len(all) == 0 {
		return nil, errors.New("migrations: none found")
	}
	slices.SortStableFunc(all, func(a, b Migration) int { return a.Version - b.Version })
	for i := 1; i < len(all); i++ {
		if all[i].Version == all[i-1].Version {
			return nil, fmt.Errorf("migrations %s and %s share version %d", all[i-1].Name, all[i].Name, all[i].Version)
		}
	}
	return all, nil
}

// ParseVersion returns the version of a migration named NNNN_name (its file
// name without ".sql"): the positive number before the first underscore.
func ParseVersion(name string) (int, error) {
	num, rest, _ := strings.Cut(name, "_")
	v, err := strconv.Atoi(num)
	if err != nil || v <= 0 || rest == "" || strings.TrimLeft(num, "0123456789") != "" {
		return 0, fmt.Errorf("migration %q: want a name NNNN_name, NNNN a positive number", name)
	}
	return v, nil
}
