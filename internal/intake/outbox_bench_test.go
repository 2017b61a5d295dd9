package intake_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/api"
	"github.com/hookd/hookd/client/outbox"
	hookdhttp "github.com/hookd/hookd/internal/http"
	"github.com/hookd/hookd/internal/intake"
	"github.com/hookd/hookd/internal/postgres/pgtest"
)

// BenchmarkIntakePaths compares the two ways into hookd's queue on
// PostgreSQL, 8 publishers at once, one webhook matching every event: the
// HTTP intake (POST /api/v2/events, or /batch for more than one event a
// request) and the outbox (hookd_publish in the platform's transactions of
// as many events, the relay taking them into the queue). An event counts
// once it is in hookd's queue: answered 200, or relayed.
//
//	HOOKD_TEST_POSTGRES_URL=... go test -run '^$' -bench IntakePaths ./internal/intake/
func BenchmarkIntakePaths(b *testing.B) {
	for _, per := range []int{1, 100} {
		b.Run(fmt.Sprintf("http/%d", per), func(b *testing.B) { benchIntake(b, per, false) })
		b.Run(fmt.Sprintf("outbox/%d", per), func(b *testing.B) { benchIntake(b, per, true) })
	}
}

const benchPublishers = 8

func benchIntake(b *testing.B, per int, viaOutbox bool) {
	schema := pgtest.Schema(b)
	store := pgtest.OpenSchema(b, schema)
	ctx := context.Background()
	if err := store.CreateWebhook(ctx, &hookd.Webhook{Name: "bench", HTTPURL: "https://receiver.example/bench", HTTPMethod: "POST",
		TriggerEvents: []string{"ASSET_ADDED"}}, ""); err != nil {
		b.Fatal(err)
	}
	event := func(n int) api.Event {
		return api.Event{Event: "ASSET_ADDED", Data: []byte(fmt.Sprintf(`{"asset_id":"A%d","pad":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}`, n))}
	}

	var publish func(first, n int) error
	if viaOutbox {
		pool, err := pgxpool.New(ctx, pgtest.URL(b))
		if err != nil {
			b.Fatal(err)
		}
		defer pool.Close()
		pub := outbox.Publisher{Schema: schema}
		publish = func(first, n int) error {
			events := make([]*api.Event, n)
			for i := range events {
				e := event(first + i)
				events[i] = &e
			}
			return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return pub.PublishTx(ctx, tx, events...) })
		}
		relayCtx, stop := context.WithCancel(ctx)
		defer stop()
		go (&intake.Relay{Outbox: store, Check: hookdhttp.OutboxEvent, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}).Run(relayCtx)
	} else {
		srv := httptest.NewServer(hookdhttp.NewServer(store, slog.New(slog.NewTextHandler(io.Discard, nil))))
		defer srv.Close()
		key, err := hookd.IssueAPIKey(ctx, store, hookd.DefaultUserID, "bench", hookd.RolePublisher)
		if err != nil {
			b.Fatal(err)
		}
		hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: benchPublishers}}
		publish = func(first, n int) error {
			var body bytes.Buffer
			if n == 1 {
				fmt.Fprintf(&body, `{"event":"ASSET_ADDED","data":%s}`, event(first).Data)
			} else {
				body.WriteString(`{"events":[`)
				for i := range n {
					if i > 0 {
						body.WriteByte(',')
					}
					fmt.Fprintf(&body, `{"event":"ASSET_ADDED","data":%s}`, event(first+i).Data)
				}
				body.WriteString(`]}`)
			}
			path := "/api/v2/events"
			if n > 1 {
				path += "/batch"
			}
			req, _ := http.NewRequest("POST", srv.URL+path, &body)
			req.Header.Set("X-API-KEY", key)
			req.Header.Set("Content-Type", "application/json")
			res, err := hc.Do(req)
			if err != nil {
				return err
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != 200 {
				return fmt.Errorf("status %d", res.StatusCode)
			}
			return nil
		}
	}

	total := b.N * per
	var wg sync.WaitGroup
	var mu sync.Mutex
	next := 0
	b.ResetTimer()
	start := time.Now()
	for range benchPublishers {
		wg.Go(func() {
			for {
				mu.Lock()
				first := next
				next += per
				mu.Unlock()
				if first >= total {
					return
				}
				if err := publish(first, min(per, total-first)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	for {
		var queued int
		if err := store.Pool().QueryRow(ctx, `SELECT count(*) FROM deliveries`).Scan(&queued); err != nil {
			b.Fatal(err)
		}
		if queued >= total {
			break
		}
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(total)/time.Since(start).Seconds(), "events/s")
}
