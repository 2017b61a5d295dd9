package postgres_test

import (
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hookd/hookd/internal/migrate"
	"github.com/hookd/hookd/internal/postgres"
	"github.com/hookd/hookd/internal/postgres/pgtest"
)

// TestOutboxUpgradeTo0026: migration 0026 adds data_bytes without rewriting
// the outbox (a rewrite would hold every publishing transaction for as long
// as it took), a platform role granted as the README says before it still
// publishes after it, and the rows written before it are measured by the
// relay: the one over MaxOutboxData is set aside, the others published.
func TestOutboxUpgradeTo0026(t *testing.T) {
	schema := pgtest.Schema(t)
	ctx := t.Context()
	pool, err := pgxpool.NewWithConfig(ctx, pgtest.Config(t, schema))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := migrate.Run(ctx, postgres.MigrationDriver(pool), migrationsBefore(t, 26)); err != nil {
		t.Fatal(err)
	}

	conn := platform(t)
	role := publisherRole(t, conn, schema)
	fn := pgx.Identifier{schema, "hookd_publish"}.Sanitize()
	publishAsRole := func(calls string) {
		t.Helper()
		if _, err := conn.Exec(ctx, `SET ROLE `+role+`; `+calls+`; RESET ROLE`); err != nil {
			t.Fatalf("the publisher role: %v", err)
		}
	}
	publishAsRole(`SELECT ` + fn + `('ASSET_ADDED', id => 'evt_old', data => '{"a": 1}');
		SELECT ` + fn + `('ASSET_ADDED', id => 'evt_old_huge', data => json_build_object('pad', repeat('x', 1048576)));
		SELECT ` + fn + `('ASSET_ADDED', id => 'evt_old_none')`)
	filenode := func() (n int64) {
		t.Helper()
		if err := pool.QueryRow(ctx, `SELECT pg_relation_filenode('outbox')::bigint`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := filenode()

	s := pgtest.OpenSchema(t, schema) // migrates on
	if filenode() != before {
		t.Error("migration 0026 rewrote the outbox")
	}
	publishAsRole(`SELECT ` + fn + `('ASSET_ADDED', id => 'evt_new', data => '{"b": 2}')`)
	rows, _ := pool.Query(ctx, `SELECT coalesce(data_bytes, -1) FROM outbox ORDER BY seq`)
	measured, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{-1, -1, -1, len(`{"b": 2}`)}; !slices.Equal(measured, want) {
		t.Fatalf("data_bytes %v (-1 for NULL), want %v: the rows before 0026 unmeasured, the one after measured", measured, want)
	}

	res := relay(t, s)
	if got := publishedIDs(res); !slices.Equal(got, []string{"evt_old", "evt_old_none", "evt_new"}) || len(res.Rejected) != 1 ||
		*res.Rejected[0].Row.ID != "evt_old_huge" || !strings.HasPrefix(res.Rejected[0].Reason, "data is 1048588 bytes, over") {
		t.Fatalf("published %v, rejected %q, want all but evt_old_huge, set aside for its size", got, reasons(res))
	}
	if data := string(res.Published[0].Event.Data); data != `{"a": 1}` {
		t.Fatalf("evt_old's data %s, want it as written", data)
	}
}

// migrationsBefore is the store's migrations older than version, as an
// earlier hookd had them.
func migrationsBefore(t *testing.T, version int) fs.FS {
	t.Helper()
	files := fstest.MapFS{}
	names, err := fs.Glob(os.DirFS("."), path.Join(migrate.Dir, "*.sql"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		v, err := migrate.ParseVersion(strings.TrimSuffix(path.Base(name), ".sql"))
		if err != nil {
			t.Fatal(err)
		}
		if v >= version {
			continue
		}
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		files[name] = &fstest.MapFile{Data: b}
	}
	return files
}
