package postgres

import (
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/migrate"
)

// MigrationDriver exposes the store's migrate.Driver on pool to the
// external tests.
func MigrationDriver(pool *pgxpool.Pool) migrate.Driver {
	return migrationDriver{pool: pool, clock: hookd.SystemClock}
}

// ClaimLockSQL takes, in a test's transaction, the claim lock of the
// webhook $1, as a claim that serves it holds it.
const ClaimLockSQL = `SELECT pg_advisory_xact_lock(` + claimKey + `) FROM (SELECT $1::bigint AS id) w`

// The statements of Complete, and what it tells the planner first, for
// the tests of their plans.
const (
	QueueLookupsSQL = queueLookupsSQL
	HealthSQL       = healthSQL
	SettleSQL       = settleSQL
)
