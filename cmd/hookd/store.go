package main

import (
	"context"
	"strings"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/postgres"
	"github.com/hookd/hookd/internal/sqlite"
)

// openStore opens the database that --database names, applying migrations.
// The store reads the time from clock; observe, when not nil, is told of
// every statement (metrics).
func openStore(ctx context.Context, database string, clock hookd.Clock, observe hookd.QueryObserver) (hookd.Store, error) {
	if strings.HasPrefix(database, "postgres://") || strings.HasPrefix(database, "postgresql://") {
		return postgres.Open(ctx, database, postgres.WithClock(clock), postgres.WithQueryObserver(observe))
	}
	return sqlite.Open(ctx, database, sqlite.WithClock(clock), sqlite.WithQueryObserver(observe))
}
