package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/postgres/pgtest"
)

// BenchmarkPublishEvents publishes batches of 100 events to 10 matching
// webhooks (1000 deliveries a batch).
func BenchmarkPublishEvents(b *testing.B) {
	s := pgtest.Open(b)
	ctx := context.Background()
	for i := range 10 {
		w := &hookd.Webhook{Name: fmt.Sprint("w", i), HTTPURL: "http://x", HTTPMethod: "POST", TriggerEvents: []string{"ASSET_ADDED"}}
		if err := s.CreateWebhook(ctx, w, ""); err != nil {
			b.Fatal(err)
		}
	}
	data := json.RawMessage(`{"asset": {"id": 12, "title": "a title"}}`)
	b.ResetTimer()
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

// BenchmarkPublishOne publishes single events (the POST /events path) from
// 8 goroutines to 3 matching webhooks.
func BenchmarkPublishOne(b *testing.B) {
	s := pgtest.Open(b)
	ctx := context.Background()
	for i := range 3 {
		w := &hookd.Webhook{Name: fmt.Sprint("w", i), HTTPURL: "http://x", HTTPMethod: "POST", TriggerEvents: []string{"ASSET_ADDED"}}
		if err := s.CreateWebhook(ctx, w, ""); err != nil {
			b.Fatal(err)
		}
	}
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.PublishEvents(ctx, []*hookd.Event{{Event: "ASSET_ADDED", Data: json.RawMessage(`{"n":1}`)}}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkClaimComplete drains a queue with 8 workers on two stores (two
// "processes"), each claiming 50 and completing them as successes.
func BenchmarkClaimComplete(b *testing.B) {
	schema := pgtest.Schema(b)
	s1, s2 := pgtest.OpenSchema(b, schema), pgtest.OpenSchema(b, schema)
	ctx := context.Background()
	for i := range 10 {
		w := &hookd.Webhook{Name: fmt.Sprint("w", i), HTTPURL: "http://x", HTTPMethod: "POST", TriggerEvents: []string{"ASSET_ADDED"}}
		if err := s1.CreateWebhook(ctx, w, ""); err != nil {
			b.Fatal(err)
		}
	}
	// b.N deliveries, 10 per event
	for left := b.N; left > 0; {
		n := min(100, (left+9)/10)
		evs := make([]*hookd.Event, n)
		for j := range evs {
			evs[j] = &hookd.Event{Event: "ASSET_ADDED"}
		}
		if _, err := s1.PublishEvents(ctx, evs); err != nil {
			b.Fatal(err)
		}
		left -= n * 10
	}
	b.ResetTimer()
	var done atomic.Int64
	var wg sync.WaitGroup
	for i := range 8 {
		s := s1
		if i%2 == 1 {
			s = s2
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				ds, err := s.Claim(ctx, fmt.Sprint("w", i), 50, hookd.Now(), time.Minute)
				if err != nil {
					b.Error(err)
					return
				}
				if len(ds) == 0 {
					return
				}
				rs := make([]hookd.AttemptResult, len(ds))
				for j, d := range ds {
					rs[j] = hookd.AttemptResult{DeliveryID: d.ID, Attempt: 1, At: hookd.Now(), Success: true, HTTPStatus: 200,
						Duration: time.Millisecond, RequestHeaders: map[string]string{"webhook-id": d.MessageID}, ResponseBody: "ok"}
				}
				if err := s.Complete(ctx, rs); err != nil {
					b.Error(err)
					return
				}
				done.Add(int64(len(ds)))
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(done.Load())/b.Elapsed().Seconds(), "deliveries/s")
}
