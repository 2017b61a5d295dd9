package main

import (
	"context"
	"github.com/hookd/hookd/internal/storeopt"
	"strings"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/postgres"
	"github.com/hookd/hookd/internal/sqlite"
)

// openStore opens the database that --database names, applying migrations.
func openStore(ctx context.Context, database string, opts ...storeopt.Option) (hookd.Store, error) {
	if strings.HasPrefix(database, "postgres://") || strings.HasPrefix(database, "postgresql://") {
		return postgres.Open(ctx, database, opts...)
	}
	return sqlite.Open(ctx, database, opts...)
}
