package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

// Benchmarks of the queue's hot path, shared by both stores so that their
// figures compare: go test -run '^$' -bench . ./sqlite/ ./postgres/

// addBenchWebhooks creates n webhooks that match every ASSET_ADDED event.
func addBenchWebhooks(b *testing.B, s hookd.Store, n int) {
	b.Helper()
	for i := range n {
		w := &hookd.Webhook{Name: fmt.Sprint("w", i), HTTPURL: "http://x", HTTPMethod: "POST", TriggerEvents: []string{"ASSET_ADDED"}}
		if err := s.CreateWebhook(context.Background(), w, ""); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPublishEvents publishes batches of 100 events to 10 matching
// webhooks (1000 deliveries a batch), as the batch endpoint does.
func BenchmarkPublishEvents(b *testing.B, s hookd.Store) {
	addBenchWebhooks(b, s, 10)
	ctx := context.Background()
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

// BenchmarkFanOutChunk publishes single events that each match
// hookd.FanOutChunk webhooks: the largest transaction a publish or
// Store.FanOut makes, so its time a publish is the longest that fan-out
// holds the database's writer (the target: about 100 ms on SQLite).
func BenchmarkFanOutChunk(b *testing.B, s hookd.Store) {
	addBenchWebhooks(b, s, hookd.FanOutChunk)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		res, err := s.PublishEvents(ctx, []*hookd.Event{{Event: "ASSET_ADDED", Data: json.RawMessage(`{"n":1}`)}})
		if err != nil {
			b.Fatal(err)
		}
		if res[0].Deliveries != hookd.FanOutChunk {
			b.Fatalf("%d deliveries, want %d", res[0].Deliveries, hookd.FanOutChunk)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/chunk")
}

// BenchmarkPublishOne publishes single events (the POST /events path) from
// 8 goroutines to 3 matching webhooks.
func BenchmarkPublishOne(b *testing.B, s hookd.Store) {
	addBenchWebhooks(b, s, 3)
	ctx := context.Background()
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

// BenchmarkClaimComplete drains a queue of b.N deliveries with 8 workers
// spread over stores (several stores on one database stand for several
// processes), each claiming 32 and completing them as successes, as the
// dispatcher does.
func BenchmarkClaimComplete(b *testing.B, stores ...hookd.Store) {
	first := stores[0]
	addBenchWebhooks(b, first, 10)
	ctx := context.Background()
	for left := b.N; left > 0; { // 10 deliveries an event
		n := min(100, (left+9)/10)
		evs := make([]*hookd.Event, n)
		for j := range evs {
			evs[j] = &hookd.Event{Event: "ASSET_ADDED"}
		}
		if _, err := first.PublishEvents(ctx, evs); err != nil {
			b.Fatal(err)
		}
		left -= n * 10
	}
	b.ResetTimer()
	var done atomic.Int64
	var wg sync.WaitGroup
	for i := range 8 {
		s, worker := stores[i%len(stores)], fmt.Sprint("worker-", i)
		wg.Go(func() {
			for {
				ds, err := Deliveries(s.Claim(ctx, hookd.ClaimRequest{Worker: worker, Limit: 32, Lease: time.Minute, Workers: Workers}))
				if err != nil || len(ds) == 0 {
					if err != nil {
						b.Error(err)
					}
					return
				}
				rs := make([]hookd.AttemptResult, len(ds))
				for j, d := range ds {
					rs[j] = hookd.AttemptResult{DeliveryID: d.ID, WebhookID: d.WebhookID, Worker: worker, Attempt: 1, At: hookd.SystemClock.Now(),
						Success: true, HTTPStatus: 200, Duration: time.Millisecond,
						RequestHeaders: map[string]string{"webhook-id": d.MessageID}, ResponseBody: "ok"}
				}
				if err := s.Complete(ctx, rs); err != nil {
					b.Error(err)
					return
				}
				done.Add(int64(len(ds)))
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(done.Load())/b.Elapsed().Seconds(), "deliveries/s")
}

// BenchmarkPublishFiltered is BenchmarkPublishEvents with 1,000 more
// webhooks subscribed to the events, each with a payload filter that reads
// data and that no event passes: the cost of matching them.
func BenchmarkPublishFiltered(b *testing.B, s hookd.Store) {
	ctx := context.Background()
	for i := range 1000 {
		w := &hookd.Webhook{Name: fmt.Sprint("f", i), HTTPURL: "http://x", HTTPMethod: "POST", TriggerEvents: []string{"ASSET_ADDED"}}
		if err := s.CreateWebhook(ctx, w, ""); err != nil {
			b.Fatal(err)
		}
		filter := fmt.Sprintf(`has(data.asset) && data.asset.id == %d`, -i)
		if err := s.UpdateSettings(ctx, w.ID, hookd.WebhookSettings{Filter: filter}.Update()); err != nil {
			b.Fatal(err)
		}
	}
	BenchmarkPublishEvents(b, s)
}
