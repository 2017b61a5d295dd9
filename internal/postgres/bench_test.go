package postgres_test

import (
	"testing"

	"github.com/hookd/hookd/internal/postgres/pgtest"
	"github.com/hookd/hookd/internal/storetest"
)

// The queue's hot path on PostgreSQL, with the benchmarks SQLite runs too:
// HOOKD_TEST_POSTGRES_URL=... go test -run '^$' -bench . ./postgres/

func BenchmarkPublishEvents(b *testing.B)   { storetest.BenchmarkPublishEvents(b, pgtest.Open(b)) }
func BenchmarkPublishOne(b *testing.B)      { storetest.BenchmarkPublishOne(b, pgtest.Open(b)) }
func BenchmarkPublishFiltered(b *testing.B) { storetest.BenchmarkPublishFiltered(b, pgtest.Open(b)) }
func BenchmarkFanOutChunk(b *testing.B)     { storetest.BenchmarkFanOutChunk(b, pgtest.Open(b)) }

// BenchmarkClaimComplete claims from two stores on one schema, as two
// processes would.
func BenchmarkClaimComplete(b *testing.B) {
	schema := pgtest.Schema(b)
	storetest.BenchmarkClaimComplete(b, pgtest.OpenSchema(b, schema), pgtest.OpenSchema(b, schema))
}
