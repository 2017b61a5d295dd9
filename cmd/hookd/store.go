package main

import (
	"context"
	"strings"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/postgres"
	"github.com/hookd/hookd/internal/sqlite"
)

// openStore opens the database that --database names, applying migrations.
// observe, when not nil, is told of every statement (metrics).
func openStore(ctx context.Context, database string, observe hookd.QueryObserver) (hookd.Store, error) {
	if strings.HasPrefix(database, "postgres://") || strings.HasPrefix(database, "postgresql://") {
		return postgres.Open(ctx, database, postgres.WithQueryObserver(observe))
	}
	return sqlite.Open(ctx, database, sqlite.WithQueryObserver(observe))
}
