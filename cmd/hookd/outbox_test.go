package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hookd/hookd/api"
	"github.com/hookd/hookd/client"
	"github.com/hookd/hookd/client/outbox"
	"github.com/hookd/hookd/internal/postgres/pgtest"
)

// TestOutboxKill9 publishes 10,000 events through the outbox from 8
// concurrent transactions at a time, each of the 8 publishers also rolling
// back transactions of events that must never arrive, while hookd is
// killed with SIGKILL midway and started again after the publishers have
// finished (so most events are committed while it is down). Every
// committed event arrives, none rolled back does, and each is stored once.
func TestOutboxKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs hookd processes")
	}
	t.Parallel()
	schema := pgtest.Schema(t) // skips without PostgreSQL
	bin := buildHookd(t)
	const (
		publishers = 8
		events     = 10000
		perTx      = 125
	)
	receiver, target := newCountingReceiver(t, 0)
	args := []string{"--database", pgtest.URLFor(t, schema), "--allow-private", "127.0.0.0/8",
		"--timeout", "2s", "--lease-margin", "3s", "--lease", "5s", "--concurrency", "16",
		"--retry-schedule", "1s,1s,1s", "--shutdown-grace", "1s"}
	first := startHookd(t, bin, args...)
	ctx := context.Background()
	if _, err := client.New(first.url, testAdminKey).CreateWebhook(ctx, api.NewWebhook{Name: "outbox",
		HTTPURL: target.URL, HTTPMethod: "POST", TriggerEvents: []string{"ASSET_ADDED"}}); err != nil {
		t.Fatal(err)
	}

	// The platform: a pool of its own, hookd's schema by name.
	pool, err := pgxpool.New(ctx, pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	pub := outbox.Publisher{Schema: schema}
	var wg sync.WaitGroup
	for p := range publishers {
		wg.Go(func() {
			for n := p * perTx; n < events; n += publishers * perTx {
				commit := func(ids int, rollback bool) error {
					return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
						for i := range perTx {
							id := fmt.Sprintf("evt_ob_%05d", ids+i)
							if rollback {
								id = fmt.Sprintf("evt_rolled_back_%05d", ids+i)
							}
							e := &api.Event{ID: id, Event: "ASSET_ADDED", Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, ids+i))}
							if err := pub.PublishTx(ctx, tx, e); err != nil {
								return err
							}
						}
						if rollback {
							return errRollback
						}
						return nil
					})
				}
				if err := commit(n, true); err != errRollback {
					t.Errorf("rolled-back transaction: %v", err)
					return
				}
				if err := commit(n, false); err != nil {
					t.Errorf("transaction of events %d+: %v", n, err)
					return
				}
			}
		})
	}

	for receiver.distinct() < events/5 {
		time.Sleep(5 * time.Millisecond)
	}
	if err := first.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	first.cmd.Wait()
	killed := receiver.distinct()
	wg.Wait()
	t.Logf("killed hookd with %d events delivered; all %d committed", killed, events)
	startHookd(t, bin, args...)

	deadline := time.Now().Add(120 * time.Second)
	for receiver.distinct() < events {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events arrived", receiver.distinct(), events)
		}
		time.Sleep(50 * time.Millisecond)
	}
	receiver.mu.Lock()
	for id := range receiver.received {
		var n int
		if _, err := fmt.Sscanf(id, "evt_ob_%05d", &n); err != nil || n >= events {
			t.Errorf("received %q, not a committed event", id)
		}
	}
	t.Logf("%d requests for %d events (duplicates: deliveries in flight at the kill)", receiver.total, events)
	receiver.mu.Unlock()

	// Each event is stored once, with one delivery, and the outbox is empty.
	conn, err := pgx.Connect(ctx, pgtest.URLFor(t, schema))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var stored, deliveries, left int
	if err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM deliveries),
		(SELECT count(*) FROM outbox) + (SELECT count(*) FROM outbox_rejected)`).Scan(&stored, &deliveries, &left); err != nil {
		t.Fatal(err)
	}
	if stored != events || deliveries != events || left != 0 {
		t.Errorf("%d events, %d deliveries, %d outbox rows left; want %d, %d, 0", stored, deliveries, left, events, events)
	}
}

// errRollback makes pgx.BeginFunc roll back.
var errRollback = errors.New("roll back")

// TestMigrateSaysHowToPublish: migrate tells the outbox's function and
// grants on PostgreSQL, and that there is no outbox on SQLite.
func TestMigrateSaysHowToPublish(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), []string{"migrate", "--database", filepath.Join(t.TempDir(), "hookd.db")}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "transactional outbox: none, it needs PostgreSQL") {
		t.Errorf("SQLite: %s", out.String())
	}
	schema := pgtest.Schema(t)
	out.Reset()
	if err := run(context.Background(), []string{"migrate", "--database", pgtest.URLFor(t, schema)}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	want := `GRANT EXECUTE ON FUNCTION "` + schema + `".hookd_publish(text, text, bigint, json, text) TO <role>;`
	if !strings.Contains(out.String(), want) {
		t.Errorf("PostgreSQL: %s, want %s", out.String(), want)
	}
}
