package main

import (
	"context"
	"strings"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/postgres"
	"github.com/hookd/hookd/internal/sqlite"
)

// openStore opens the database that --database names, applying migrations.
func openStore(ctx context.Context, database string) (hookd.Store, error) {
	if strings.HasPrefix(database, "postgres://") || strings.HasPrefix(database, "postgresql://") {
		return postgres.Open(ctx, database)
	}
	return sqlite.Open(ctx, database)
}
