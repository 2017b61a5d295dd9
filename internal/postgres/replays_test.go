package postgres_test

import (
	"testing"

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
