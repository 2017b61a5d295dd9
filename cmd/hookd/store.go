package main

import (
	"context"
	"strings"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/postgres"
	"github.com/hookd/hookd/internal/sqlite"
)

// storeOptions are what a store is opened with.
type storeOptions struct {
	clock hookd.Clock
	// observe, when not nil, is told of every statement (metrics).
	observe hookd.QueryObserver
	// circuit is the circuit breakers' policy; the zero value leaves the
	// store's default (hookd.DefaultCircuitPolicy).
	circuit hookd.CircuitPolicy
	// observeCircuit, when not nil, is told of the circuits that the
	// store's Complete opened or closed (logs, metrics).
	observeCircuit hookd.CircuitObserver
}

// openStore opens the database that --database names, applying migrations.
func openStore(ctx context.Context, database string, o storeOptions) (hookd.Store, error) {
	policy := o.circuit
	if policy == (hookd.CircuitPolicy{}) {
		policy = hookd.DefaultCircuitPolicy
	}
	if strings.HasPrefix(database, "postgres://") || strings.HasPrefix(database, "postgresql://") {
		return postgres.Open(ctx, database, postgres.WithClock(o.clock), postgres.WithQueryObserver(o.observe),
			postgres.WithCircuitPolicy(policy), postgres.WithCircuitObserver(o.observeCircuit))
	}
	return sqlite.Open(ctx, database, sqlite.WithClock(o.clock), sqlite.WithQueryObserver(o.observe),
		sqlite.WithCircuitPolicy(policy), sqlite.WithCircuitObserver(o.observeCircuit))
}
