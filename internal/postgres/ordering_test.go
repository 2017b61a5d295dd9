package postgres_test

import (
	"testing"
	"time"

	"github.com/hookd/hookd/internal/clocktest"
	"github.com/hookd/hookd/internal/postgres/pgtest"
	"github.com/hookd/hookd/internal/storeopt"
	"github.com/hookd/hookd/internal/storetest"
)

// TestLanesAcrossProcesses: two stores on one schema (two hookd processes)
// publish and claim an ordered webhook's lanes at once: the lane locks keep
// each lane with one head.
func TestLanesAcrossProcesses(t *testing.T) {
	clock := clocktest.New(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC))
	schema := pgtest.Schema(t)
	storetest.LanesAcrossStores(t, pgtest.OpenSchema(t, schema, storeopt.WithClock(clock)),
		pgtest.OpenSchema(t, schema, storeopt.WithClock(clock)), clock)
}
