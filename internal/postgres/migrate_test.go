package postgres_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hookd/hookd/internal/migrate"
	"github.com/hookd/hookd/internal/migrate/migratetest"
	"github.com/hookd/hookd/internal/postgres"
	"github.com/hookd/hookd/internal/postgres/pgtest"
)

// TestMigrator runs the shared migration suite, each test in a schema of
// its own, each driver with a pool of its own (a process).
func TestMigrator(t *testing.T) {
	pgtest.URL(t)
	migratetest.Run(t, func(t *testing.T) func() migrate.Driver {
		schema := pgtest.Schema(t)
		return func() migrate.Driver {
			pool, err := pgxpool.NewWithConfig(t.Context(), pgtest.Config(t, schema))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(pool.Close)
			return postgres.MigrationDriver(pool)
		}
	})
}

// TestMigrateUpgradesEarlierDatabase opens a schema that an earlier hookd
// migrated to 0001 only, recorded as it did (by name, applied_at by
// default), and checks that the rest is applied and recorded the same way.
func TestMigrateUpgradesEarlierDatabase(t *testing.T) {
	schema := pgtest.Schema(t)
	ctx := ctxT(t)
	conn, err := pgx.ConnectConfig(ctx, pgtest.Config(t, schema).ConnConfig)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	first, err := os.ReadFile("migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{
		string(first),
		`CREATE TABLE schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
		`INSERT INTO schema_migrations (version) VALUES ('0001_init')`,
	} {
		if _, err := conn.Exec(ctx, sql, pgx.QueryExecModeSimpleProtocol); err != nil {
			t.Fatal(err)
		}
	}

	s := pgtest.OpenSchema(t, schema)
	rows, err := s.Pool().Query(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("migrations/*.sql")
	var want []string
	for _, f := range files {
		want = append(want, strings.TrimSuffix(filepath.Base(f), ".sql"))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("schema_migrations holds %v, want %v", got, want)
	}
}

// The foreign keys of deliveries hold on the queue's partition only
// (migration 0019): a finished delivery moves into the history's
// partitions without its event and webhook being checked and locked again,
// while one being queued still cannot refer to a missing event or webhook.
func TestForeignKeysOnTheQueueOnly(t *testing.T) {
	s := pgtest.Open(t)
	rows, err := s.Pool().Query(t.Context(), `
		SELECT c.conrelid::regclass::text, c.confrelid::regclass::text
		FROM pg_constraint c
		WHERE c.contype = 'f' AND c.conrelid::regclass::text LIKE 'deliveries%'
		ORDER BY 1, 2`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var table, refers string
		if err := rows.Scan(&table, &refers); err != nil {
			t.Fatal(err)
		}
		got = append(got, table+" -> "+refers)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{"deliveries_queue -> events", "deliveries_queue -> webhooks"}
	if !slices.Equal(got, want) {
		t.Fatalf("foreign keys of deliveries: %q, want %q", got, want)
	}
	_, err = s.Pool().Exec(t.Context(), `INSERT INTO deliveries (webhook_id, event_id, message_id, next_attempt_at, created_at)
		VALUES (-1, 'no such event', 'm', now(), now())`)
	if err == nil {
		t.Fatal("a delivery to no webhook and of no event was queued")
	}
}
