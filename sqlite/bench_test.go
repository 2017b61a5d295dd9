package sqlite_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/sqlite"
)

// The queue's hot path on SQLite (postgres/bench_test.go has the same on
// PostgreSQL): go test -run '^$' -bench . ./sqlite/

func openBench(b *testing.B, webhooks int) *sqlite.Store {
	b.Helper()
	s, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	for i := range webhooks {
		w := &hookd.Webhook{Name: fmt.Sprint("w", i), HTTPURL: "http://x", HTTPMethod: "POST", TriggerEvents: []string{"ASSET_ADDED"}}
		if err := s.CreateWebhook(b.Context(), w, ""); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

// BenchmarkPublishEvents publishes batches of 100 events to 10 matching
// webhooks (1000 deliveries a batch).
func BenchmarkPublishEvents(b *testing.B) {
	s := openBench(b, 10)
	ctx := context.Background()
	data := json.RawMessage(`{"asset": {"id": 12, "title": "a title"}}`)
	for b.Loop() {
		evs := make([]*hookd.Event, 100)
		for j := range evs {
			evs[j] = &hookd.Event{Event: "ASSET_ADDED", Data: data}
		}
		if _, err := s.PublishEvents(ctx, evs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "deliveries/s")
}

// BenchmarkClaimComplete claims deliveries 32 at a time and completes them
// as successes, as the dispatcher does, b.N deliveries in all.
func BenchmarkClaimComplete(b *testing.B) {
	s := openBench(b, 10)
	ctx := context.Background()
	for left := b.N; left > 0; {
		n := min(100, (left+9)/10)
		evs := make([]*hookd.Event, n)
		for j := range evs {
			evs[j] = &hookd.Event{Event: "ASSET_ADDED"}
		}
		if _, err := s.PublishEvents(ctx, evs); err != nil {
			b.Fatal(err)
		}
		left -= n * 10
	}
	b.ResetTimer()
	done := 0
	for {
		ds, err := s.Claim(ctx, "w", 32, hookd.Now(), time.Minute)
		if err != nil {
			b.Fatal(err)
		}
		if len(ds) == 0 {
			break
		}
		rs := make([]hookd.AttemptResult, len(ds))
		for j, d := range ds {
			rs[j] = hookd.AttemptResult{DeliveryID: d.ID, WebhookID: d.WebhookID, Worker: "w", Attempt: 1, At: hookd.Now(),
				Success: true, HTTPStatus: 200, Duration: time.Millisecond,
				RequestHeaders: map[string]string{"webhook-id": d.MessageID}, ResponseBody: "ok"}
		}
		if err := s.Complete(ctx, rs); err != nil {
			b.Fatal(err)
		}
		done += len(ds)
	}
	b.ReportMetric(float64(done)/b.Elapsed().Seconds(), "deliveries/s")
}
