package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/migrate"
)

// The schema lives in numbered SQL files, applied by package migrate.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrate applies the migrations the database has not recorded, in one
// transaction: a failure leaves the schema as it was. It is safe to run at
// every start, and from two processes at once. A database that a newer
// hookd migrated further is refused.
func (s *Store) Migrate(ctx context.Context) error {
	if err := migrate.Run(ctx, migrationDriver{db: s.w, clock: s.clock}, migrationFiles); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", mapErr(err))
	}
	return nil
}

// migrationDriver is SQLite's migrate.Driver. db must begin its
// transactions IMMEDIATE, as the writer does: the write lock, taken at
// BEGIN, is the migration lock.
type migrationDriver struct {
	db    *sql.DB
	clock hookd.Clock
}

func (d migrationDriver) Locked(ctx context.Context, fn func(migrate.Tx) error) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(migrationTx{tx: tx, clock: d.clock}); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

type migrationTx struct {
	tx    *sql.Tx
	clock hookd.Clock
}

func (t migrationTx) Versions(ctx context.Context) ([]int, error) {
	if _, err := t.tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		applied_at INTEGER NOT NULL
	)`); err != nil {
		return nil, err
	}
	rows, err := t.tx.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var versions []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		versions = append(versions, v)
	}
	return versions, rows.Err()
}

func (t migrationTx) Apply(ctx context.Context, m migrate.Migration) error {
	if _, err := t.tx.ExecContext(ctx, m.SQL); err != nil {
		return err
	}
	_, err := t.tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`,
		m.Version, ms(t.clock.Now()))
	return err
}
