package postgres_test

import (
	"testing"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/postgres"
	"github.com/hookd/hookd/internal/postgres/pgtest"
	"github.com/hookd/hookd/internal/storetest"
)

// TestContract runs the shared hookd.Store suite, each test on a schema of
// its own.
func TestContract(t *testing.T) {
	pgtest.URL(t)
	storetest.Run(t, func(t *testing.T, clock hookd.Clock) hookd.Store {
		return pgtest.Open(t, postgres.WithClock(clock))
	})
}
