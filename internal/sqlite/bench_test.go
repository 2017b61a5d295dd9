package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/hookd/hookd/internal/sqlite"
	"github.com/hookd/hookd/internal/storetest"
)

// The queue's hot path on SQLite, with the benchmarks PostgreSQL runs too:
// go test -run '^$' -bench . ./sqlite/

func openBench(b *testing.B) *sqlite.Store {
	b.Helper()
	s, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func BenchmarkPublishEvents(b *testing.B)   { storetest.BenchmarkPublishEvents(b, openBench(b)) }
func BenchmarkPublishOne(b *testing.B)      { storetest.BenchmarkPublishOne(b, openBench(b)) }
func BenchmarkPublishFiltered(b *testing.B) { storetest.BenchmarkPublishFiltered(b, openBench(b)) }
func BenchmarkClaimComplete(b *testing.B)   { storetest.BenchmarkClaimComplete(b, openBench(b)) }
func BenchmarkFanOutChunk(b *testing.B)     { storetest.BenchmarkFanOutChunk(b, openBench(b)) }
