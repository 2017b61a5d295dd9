package postgres_test

import (
	"github.com/hookd/hookd/internal/storeopt"
	"testing"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/postgres/pgtest"
	"github.com/hookd/hookd/internal/storetest"
)

// TestContract runs the shared hookd.Store suite, each test on a schema of
// its own.
func TestContract(t *testing.T) {
	pgtest.URL(t)
	storetest.Run(t, func(t *testing.T, clock hookd.Clock) hookd.Store {
		return pgtest.Open(t, storeopt.WithClock(clock))
	})
}
