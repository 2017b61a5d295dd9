package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/migrate"
	"github.com/hookd/hookd/internal/storeopt"
	"github.com/hookd/hookd/internal/storetest"
)

func open(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestPragmas(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "hookd.db"))
	ctx := t.Context()
	for _, c := range []struct {
		db     *sql.DB
		pragma string
		want   string
	}{
		{s.w, "journal_mode", "wal"},
		{s.r, "journal_mode", "wal"},
		{s.w, "foreign_keys", "1"},
		{s.r, "foreign_keys", "1"},
		{s.w, "wal_autocheckpoint", fmt.Sprint(walAutocheckpoint)}, // the checkpointer's work
		{s.w, "synchronous", "1"},                                  // NORMAL
		{s.r, "synchronous", "1"},
		{s.w, "busy_timeout", fmt.Sprint(busyTimeout.Milliseconds())},
		{s.r, "busy_timeout", fmt.Sprint(busyTimeout.Milliseconds())},
		{s.w, "query_only", "0"},
		{s.r, "query_only", "1"},
	} {
		var got string
		if err := c.db.QueryRowContext(ctx, "PRAGMA "+c.pragma).Scan(&got); err != nil {
			t.Fatalf("PRAGMA %s: %v", c.pragma, err)
		}
		if got != c.want {
			who := "reader"
			if c.db == s.w {
				who = "writer"
			}
			t.Errorf("%s PRAGMA %s = %s, want %s", who, c.pragma, got, c.want)
		}
	}
	if got := s.w.Stats().MaxOpenConnections; got != 1 {
		t.Errorf("writer pool allows %d connections, want 1", got)
	}
}

func TestMigrate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hookd.db")
	s := open(t, path)
	ctx := t.Context()
	all, err := migrate.Load(migrationFiles)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) == 0 || all[0].Version != 1 {
		t.Fatalf("migrations = %+v, want 0001 first", all)
	}

	versions := func() []int {
		t.Helper()
		rows, err := s.r.QueryContext(ctx, `SELECT version, applied_at FROM schema_migrations ORDER BY version`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []int
		for rows.Next() {
			var v int
			var at int64
			if err := rows.Scan(&v, &at); err != nil {
				t.Fatal(err)
			}
			if at <= 0 {
				t.Errorf("migration %d: applied_at %d", v, at)
			}
			out = append(out, v)
		}
		return out
	}
	if got := versions(); len(got) != len(all) {
		t.Fatalf("recorded migrations %v, want %d", got, len(all))
	}

	// Migrating again, or opening again, applies nothing twice.
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate again: %v", err)
	}
	w := &hookd.Webhook{Name: "kept", HTTPURL: "https://x.example", HTTPMethod: "POST", TriggerEvents: []string{"ASSET_ADDED"}}
	if err := s.CreateWebhook(ctx, w, ""); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, path)
	if got := versions(); len(got) != len(all) {
		t.Fatalf("after reopening, recorded migrations %v, want %d", got, len(all))
	}
	got, err := s.Webhook(ctx, w.ID)
	if err != nil || got.Name != "kept" {
		t.Fatalf("after reopening, Webhook = %+v, %v", got, err)
	}

	// A database migrated by a newer hookd is refused.
	if _, err := s.w.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (9999, 1)`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s2, err := Open(ctx, path); err == nil {
		s2.Close()
		t.Fatal("Open accepted a database with a newer schema")
	}
}

// writeWithoutPause publishes from two goroutines without a pause, to a
// webhook it creates, commits of ten events of 1 KB: about four pages of
// events and a page of each B-tree a commit touches, some 20 pages a
// commit.
func writeWithoutPause(t *testing.T, s *Store, commits int) {
	t.Helper()
	ctx := t.Context()
	if err := s.CreateWebhook(ctx, &hookd.Webhook{Name: "w", HTTPURL: "http://127.0.0.1:1/hook", HTTPMethod: "POST",
		TriggerEvents: []string{"ASSET_ADDED"}}, ""); err != nil {
		t.Fatal(err)
	}
	data := json.RawMessage(`{"pad":"` + strings.Repeat("x", 1000) + `"}`)
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for range commits / 2 {
				events := make([]*hookd.Event, 10)
				for i := range events {
					events[i] = &hookd.Event{Event: "ASSET_ADDED", Data: data}
				}
				if _, err := s.PublishEvents(ctx, events); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// walFrames is the longest the log of the database at path has been: its
// file keeps that size.
func walFrames(t *testing.T, path string) int64 {
	t.Helper()
	info, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	return info.Size() / (4096 + 24)
}

// TestWALStaysShort writes without a pause from two goroutines, over five
// times maxWALFrames pages, and finds that the log never grew much past
// maxWALFrames: the checkpointer copies the WAL back beside the writer,
// and starts the log over although the writes never stop. (The writer's
// own checkpoint, the fallback, would let it grow to walAutocheckpoint.)
func TestWALStaysShort(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hookd.db")
	s := open(t, path)
	writeWithoutPause(t, s, maxWALFrames/4) // over five times maxWALFrames pages
	if frames := walFrames(t, path); frames > 2*maxWALFrames {
		t.Errorf("the log reached %d frames, want at most %d", frames, 2*maxWALFrames)
	}
}

// TestCheckpointerBesideALongReader holds a read transaction open (an
// export, say) while two goroutines write as in TestWALStaysShort: the
// reader keeps the log from being copied back, so the checkpointer tries
// no restart on the writer (it would wait for the reader, or, were the
// reader to end meanwhile, copy the whole backlog there). The writes all
// succeed, the log grows (as it would under SQLite's own checkpoints), and
// the writer's connection keeps its busy_timeout.
func TestCheckpointerBesideALongReader(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hookd.db")
	var restarts atomic.Int64
	s, err := Open(t.Context(), path, storeopt.WithQueryObserver(func(query string, _ time.Duration, _ error) {
		if strings.Contains(query, "wal_checkpoint(RESTART)") {
			restarts.Add(1)
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := t.Context()
	reader, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Rollback()
	var n int
	if err := reader.QueryRowContext(ctx, `SELECT count(*) FROM webhooks`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	writeWithoutPause(t, s, maxWALFrames/6) // over three times maxWALFrames pages
	if frames := walFrames(t, path); frames <= 2*maxWALFrames {
		t.Fatalf("the log reached %d frames only: the reader did not hold it", frames)
	}
	if n := restarts.Load(); n != 0 {
		t.Errorf("%d restarts ran on the writer beside a reader that held the log back", n)
	}
	var timeout int64
	if err := s.w.QueryRowContext(ctx, `PRAGMA busy_timeout`).Scan(&timeout); err != nil {
		t.Fatal(err)
	}
	if timeout != busyTimeout.Milliseconds() {
		t.Errorf("the writer's busy_timeout is %d ms, want %d", timeout, busyTimeout.Milliseconds())
	}
}

func TestOpenRefusesMemory(t *testing.T) {
	for _, p := range []string{"", ":memory:", "file::memory:?cache=shared"} {
		if s, err := Open(t.Context(), p); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded; the writer and readers cannot share an in-memory database", p)
		}
	}
}

// TestLoad runs publishers, workers and readers at once, in two Stores on
// one file (two hookd processes), and checks that none of them sees
// SQLITE_BUSY and that every delivery is claimed once.
func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	path := filepath.Join(t.TempDir(), "hookd.db")
	a := open(t, path)
	b := open(t, path)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for i := range 3 {
		w := &hookd.Webhook{Name: fmt.Sprint("w", i), HTTPURL: "https://x.example", HTTPMethod: "POST",
			TriggerEvents: []string{"ASSET_ADDED"}}
		if err := a.CreateWebhook(ctx, w, ""); err != nil {
			t.Fatal(err)
		}
	}

	const publishers, batches, perBatch = 4, 10, 10
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		claimed  = map[int64]int{}
		errs     []error
		done     = make(chan struct{})
		failNote = func(err error) {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		}
	)
	stores := []*Store{a, b}
	for p := range publishers {
		s := stores[p%2]
		wg.Go(func() {
			for range batches {
				events := make([]*hookd.Event, perBatch)
				for i := range events {
					events[i] = &hookd.Event{Event: "ASSET_ADDED", Data: json.RawMessage(`{"load": true}`)}
				}
				if _, err := s.PublishEvents(ctx, events); err != nil {
					failNote(fmt.Errorf("publish: %w", err))
					return
				}
			}
		})
	}
	var workers sync.WaitGroup
	for i := range 4 {
		s := stores[i%2]
		workers.Go(func() {
			for {
				ds, err := storetest.Deliveries(s.Claim(ctx, hookd.ClaimRequest{Worker: fmt.Sprint("worker-", i), Limit: 20, Lease: time.Minute, Workers: storetest.Workers}))
				if err != nil {
					failNote(fmt.Errorf("claim: %w", err))
					return
				}
				results := make([]hookd.AttemptResult, len(ds))
				mu.Lock()
				for j, d := range ds {
					claimed[d.ID]++
					results[j] = hookd.AttemptResult{DeliveryID: d.ID, WebhookID: d.WebhookID, Attempt: 1,
						At: hookd.SystemClock.Now(), Success: true, HTTPStatus: 200}
				}
				mu.Unlock()
				if err := s.Complete(ctx, results); err != nil {
					failNote(fmt.Errorf("complete: %w", err))
					return
				}
				if len(ds) == 0 {
					select {
					case <-done:
						return
					case <-s.Wakeup():
					case <-time.After(5 * time.Millisecond):
					}
				}
			}
		})
		workers.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				if _, err := s.ListWebhooks(ctx, hookd.WebhookFilter{}); err != nil {
					failNote(fmt.Errorf("list: %w", err))
					return
				}
			}
		})
	}
	wg.Wait()
	// Publishing is over: let the workers drain the queue, then stop them.
	for {
		hooks, err := a.ListWebhooks(ctx, hookd.WebhookFilter{})
		if err != nil {
			t.Fatal(err)
		}
		pending := 0
		for _, w := range hooks {
			pending += w.QueueLength + w.RetryQueueLength
		}
		if pending == 0 || ctx.Err() != nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(done)
	workers.Wait()

	for _, err := range errs {
		t.Error(err)
		if errors.Is(err, hookd.ErrUnavailable) {
			t.Error("SQLITE_BUSY (or another unavailable error) under load")
		}
	}
	want := publishers * batches * perBatch * 3
	if len(claimed) != want {
		t.Errorf("claimed %d deliveries, want %d", len(claimed), want)
	}
	for id, n := range claimed {
		if n != 1 {
			t.Errorf("delivery %d claimed %d times", id, n)
		}
	}
}

// A webhook's users are read by the index PostgreSQL has too, in id order
// without a sort.
func TestWebhookUsersIndex(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "hookd.db"))
	var plan []string
	rows, err := s.r.QueryContext(t.Context(), `EXPLAIN QUERY PLAN SELECT id FROM webhook_users WHERE webhook_id = 1 ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if len(plan) != 1 || !strings.Contains(plan[0], "webhook_users_webhook") {
		t.Fatalf("plan %q, want one search of webhook_users_webhook", plan)
	}
}

// A database that answers but refuses writes (here the writer connection
// is made query-only, as a read-only file is) passes Ping and fails
// CheckWrite with ErrUnavailable: not ready to accept an event.
func TestCheckWriteReadOnly(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "hookd.db"))
	if err := s.CheckWrite(t.Context()); err != nil {
		t.Fatalf("CheckWrite: %v", err)
	}
	if _, err := s.w.ExecContext(t.Context(), "PRAGMA query_only = 1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping of a read-only database: %v", err)
	}
	err := s.CheckWrite(t.Context())
	if !errors.Is(err, hookd.ErrUnavailable) || !strings.Contains(err.Error(), "readonly") {
		t.Errorf("CheckWrite of a read-only database: %v, want ErrUnavailable (attempt to write a readonly database)", err)
	}
}
