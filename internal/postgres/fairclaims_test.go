package postgres_test

import (
	"github.com/hookd/hookd/internal/storeopt"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/clocktest"
	"github.com/hookd/hookd/internal/postgres/pgtest"
	"github.com/hookd/hookd/internal/storetest"
)

// TestShareAcrossProcesses: two stores on one schema (two hookd processes)
// keep a webhook within one share between them.
func TestShareAcrossProcesses(t *testing.T) {
	clock := clocktest.New(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC))
	schema := pgtest.Schema(t)
	storetest.ShareAcrossStores(t, pgtest.OpenSchema(t, schema, storeopt.WithClock(clock)),
		pgtest.OpenSchema(t, schema, storeopt.WithClock(clock)), clock)
}

func BenchmarkFairClaim(b *testing.B) { storetest.BenchmarkFairClaim(b, pgtest.Open(b)) }

// TestSubscriptionsAcrossProcesses: a publish through one store matches
// with the changes made through another on the same schema.
func TestSubscriptionsAcrossProcesses(t *testing.T) {
	schema := pgtest.Schema(t)
	storetest.SubscriptionsAcrossStores(t, pgtest.OpenSchema(t, schema), pgtest.OpenSchema(t, schema))
}

// TestFanOutAcrossProcesses: a large fan-out is created in chunks, by the
// publishing store or another on the same schema.
func TestFanOutAcrossProcesses(t *testing.T) {
	schema := pgtest.Schema(t)
	chunk := storeopt.WithFanOutChunk(storetest.FanOutChunk)
	storetest.FanOut(t, pgtest.OpenSchema(t, schema, chunk), pgtest.OpenSchema(t, schema, chunk))
}
