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
