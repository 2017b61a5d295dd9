// Package pgtest gives tests a PostgreSQL hookd store of their own.
//
// The database comes from the environment variable HOOKD_TEST_POSTGRES_URL
// (e.g. postgres://postgres@127.0.0.1:5432/test); without it the tests
// that need PostgreSQL are skipped, unless HOOKD_REQUIRE_POSTGRES is set
// (CI), which makes them fail instead. Each Open creates a schema with a
// random name, opens a store whose search_path is that schema, and drops
// the schema (CASCADE) when the test ends, so tests can run in parallel on
// one database.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hookd/hookd/postgres"
)

// Environment variables: the test database URL, and whether a missing
// database fails the tests rather than skips them.
const (
	EnvURL     = "HOOKD_TEST_POSTGRES_URL"
	EnvRequire = "HOOKD_REQUIRE_POSTGRES"
)

// URL returns the test database URL. When it is unset the test is skipped,
// or fails when HOOKD_REQUIRE_POSTGRES is set.
func URL(t testing.TB) string {
	t.Helper()
	url := os.Getenv(EnvURL)
	if url == "" {
		if os.Getenv(EnvRequire) != "" {
			t.Fatal(EnvURL + " not set, but " + EnvRequire + " is: PostgreSQL tests cannot run")
		}
		t.Skip(EnvURL + " not set: skipping PostgreSQL tests")
	}
	return url
}

// Schema creates a fresh schema in the test database, drops it when the
// test ends, and returns its name.
func Schema(t testing.TB) string {
	t.Helper()
	url := URL(t)
	var b [6]byte
	rand.Read(b[:])
	name := "hookd_test_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		t.Fatalf("pgtest: create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Errorf("pgtest: connect to drop schema %s: %v", name, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+name+" CASCADE"); err != nil {
			t.Errorf("pgtest: drop schema %s: %v", name, err)
		}
	})
	return name
}

// Config returns a pool configuration for the test database with
// search_path (and application_name, to tell the test's connections apart
// in pg_stat_activity) set to schema.
func Config(t testing.TB, schema string) *pgxpool.Config {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(URL(t))
	if err != nil {
		t.Fatalf("pgtest: %s: %v", EnvURL, err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	cfg.ConnConfig.RuntimeParams["application_name"] = schema
	return cfg
}

// OpenSchema opens a store on schema and closes it when the test ends
// (before the schema is dropped). Several stores on one schema act as
// several hookd processes sharing a database.
func OpenSchema(t testing.TB, schema string) *postgres.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := postgres.OpenConfig(ctx, Config(t, schema))
	if err != nil {
		t.Fatalf("pgtest: open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Open returns a store on a fresh schema of its own, cleaned up when the
// test ends.
func Open(t testing.TB) *postgres.Store {
	t.Helper()
	return OpenSchema(t, Schema(t))
}
