package postgres_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/postgres/pgtest"
	"github.com/hookd/hookd/internal/storetest"
)

// A replay that one process began, another goes on with, on the same
// database.
func TestReplayResumesInAnotherProcess(t *testing.T) {
	schema := pgtest.Schema(t)
	storetest.ReplayResumes(t, pgtest.OpenSchema(t, schema), func() hookd.Store { return pgtest.OpenSchema(t, schema) })
}

// Migration 0016 rebuilds deliveries as a partitioned table: the replay's
// column and index (0013) must come through it, on every partition.
func TestReplayIndexSurvivesPartitioning(t *testing.T) {
	schema := pgtest.Schema(t)
	pgtest.OpenSchema(t, schema)
	db, err := pgxpool.NewWithConfig(context.Background(), pgtest.Config(t, schema))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, table := range []string{"deliveries", "deliveries_queue", "deliveries_done"} {
		var def string
		err := db.QueryRow(context.Background(), `SELECT indexdef FROM pg_indexes
			WHERE schemaname = $1 AND tablename = $2 AND indexdef LIKE '%(replay_id, state)%WHERE (replay_id IS NOT NULL)%'`,
			schema, table).Scan(&def)
		if err != nil {
			t.Errorf("%s: no index on (replay_id, state): %v", table, err)
		}
	}
}
