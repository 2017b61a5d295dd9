package sqlite

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/clocktest"
	"github.com/hookd/hookd/internal/storeopt"
	"github.com/hookd/hookd/internal/storetest"
)

// TestHistory runs the contract of payload retention and erasure, looking
// for what they clear in every column of every table.
func TestHistory(t *testing.T) {
	setEraseChunk(t, storetest.EraseChunk)
	storetest.RunHistory(t, func(t *testing.T, clock hookd.Clock) hookd.Store {
		s, err := Open(t.Context(), filepath.Join(t.TempDir(), "hookd.db"), storeopt.WithClock(clock))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}, traces)
}

// setEraseChunk makes erasures work in chunks of n until t ends.
func setEraseChunk(t *testing.T, n int) {
	was := eraseChunk
	eraseChunk = n
	t.Cleanup(func() { eraseChunk = was })
}

// traces lists the "table.column" of every column (read as text) of every
// table (sqlite_master, pragma table_info) that holds needle.
func traces(t *testing.T, st hookd.Store, needle string) []string {
	t.Helper()
	s := st.(*Store)
	ctx := t.Context()
	rows, err := s.w.QueryContext(ctx, `SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p
		WHERE m.type = 'table' ORDER BY 1, 2`)
	if err != nil {
		t.Fatal(err)
	}
	var cols [][2]string
	for rows.Next() {
		var c [2]string
		if err := rows.Scan(&c[0], &c[1]); err != nil {
			t.Fatal(err)
		}
		cols = append(cols, c)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	if len(cols) < 20 {
		t.Fatalf("only %d columns found", len(cols))
	}
	var at []string
	for _, c := range cols {
		var n int
		q := fmt.Sprintf(`SELECT count(*) FROM %q WHERE instr(CAST(%q AS TEXT), ?) > 0`, c[0], c[1])
		if err := s.w.QueryRowContext(ctx, q, needle).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if n > 0 {
			at = append(at, c[0]+"."+c[1])
		}
	}
	return at
}

// twoWebhooks creates webhooks a and b, both of ASSET_ADDED.
func twoWebhooks(t *testing.T, s *Store) {
	t.Helper()
	for _, name := range []string{"a", "b"} {
		w := &hookd.Webhook{Name: name, HTTPURL: "http://127.0.0.1:1/", HTTPMethod: "POST", TriggerEvents: []string{"ASSET_ADDED"}}
		if err := s.CreateWebhook(t.Context(), w, "secret"); err != nil {
			t.Fatal(err)
		}
	}
}

// TestPruneInChunks checks that pruning never changes more than
// hookd.PruneChunk rows in one transaction, however much is due.
func TestPruneInChunks(t *testing.T) {
	clock := clocktest.New(time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC))
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "hookd.db"), storeopt.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	twoWebhooks(t, s)
	// 1200 events, two deliveries each, all delivered: 2400 attempts,
	// 2400 finished deliveries and 1200 events to prune.
	old := clock.Now()
	events := make([]*hookd.Event, 1200)
	for i := range events {
		events[i] = &hookd.Event{Event: "ASSET_ADDED", Data: json.RawMessage(`{}`)}
	}
	if _, err := s.PublishEvents(ctx, events); err != nil {
		t.Fatal(err)
	}
	delivered := 0
	for {
		c, err := s.Claim(ctx, hookd.ClaimRequest{Worker: "w", Limit: 500, Lease: time.Minute, Workers: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Deliveries) == 0 {
			break
		}
		var results []hookd.AttemptResult
		for _, d := range c.Deliveries {
			results = append(results, hookd.AttemptResult{DeliveryID: d.ID, Worker: "w", At: old, Success: true, HTTPStatus: 200})
		}
		if err := s.Complete(ctx, results); err != nil {
			t.Fatal(err)
		}
		delivered += len(results)
	}
	if delivered != 2400 {
		t.Fatalf("delivered %d", delivered)
	}

	var chunks []int64
	s.chunkDone = func(rows int64) { chunks = append(chunks, rows) }
	clock.Set(old.Add(48 * time.Hour))
	n, err := s.Prune(ctx, old.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if n != 6000 {
		t.Errorf("pruned %d rows, want 6000", n)
	}
	var sum int64
	for _, c := range chunks {
		if c > hookd.PruneChunk {
			t.Errorf("a transaction changed %d rows, more than %d", c, hookd.PruneChunk)
		}
		sum += c
	}
	// attempts 1000+1000+400, deliveries the same, events 1000+200 (and
	// the empty chunk that ends the walk)
	if sum != 6000 || len(chunks) < 8 {
		t.Errorf("%d transactions changed %v rows in all", len(chunks), chunks)
	}
}

// TestEraseLetsPublishesIn checks that an erasure of a project's events
// commits chunk by chunk, each of at most eraseChunk events and
// deliveries, so that a publish commits between two chunks instead of
// waiting for the whole erasure (which held the writer for seconds); and
// that an event of the project published then, above the walk, is erased
// too, while other projects' events are not.
func TestEraseLetsPublishesIn(t *testing.T) {
	setEraseChunk(t, 7) // two events of two deliveries each: 6
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "hookd.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	twoWebhooks(t, s)
	gone, other := "gone", "other"
	event := func(id string, project *string) *hookd.Event {
		return &hookd.Event{ID: id, Event: "ASSET_ADDED", ProjectID: project, Data: json.RawMessage(`{"secret": 1}`)}
	}
	var events []*hookd.Event
	for i := range 10 {
		events = append(events, event(fmt.Sprintf("gone-%d", i), &gone))
	}
	events = append(events, event("other-0", &other))
	if _, err := s.PublishEvents(ctx, events); err != nil {
		t.Fatal(err)
	}

	var chunks []int64
	publishedAfter := -1
	s.chunkDone = func(rows int64) {
		chunks = append(chunks, rows)
		if len(chunks) != 1 {
			return
		}
		// Between the first chunk and the second: the writer is free.
		if _, err := s.PublishEvents(ctx, []*hookd.Event{event("gone-late", &gone), event("other-1", &other)}); err != nil {
			t.Errorf("PublishEvents between two chunks: %v", err)
			return
		}
		publishedAfter = len(chunks)
	}
	erased, err := s.Erase(ctx, hookd.Erasure{ProjectID: gone})
	s.chunkDone = nil
	if err != nil {
		t.Fatal(err)
	}
	if publishedAfter != 1 || len(chunks) < 3 {
		t.Fatalf("the publish committed after chunk %d of %d (%v): want after the first, before the others",
			publishedAfter, len(chunks), chunks)
	}
	for i, rows := range chunks {
		// An event and its two deliveries (cancelled) are three rows.
		if rows > 6 {
			t.Errorf("chunk %d changed %d rows: more than two events", i, rows)
		}
	}
	if want := (hookd.Erased{Events: 11, Cancelled: 22}); erased != want {
		t.Errorf("erased %+v, want %+v", erased, want)
	}
	rows, err := s.w.QueryContext(ctx, `SELECT id, data, erased_at IS NOT NULL FROM events ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, data string
		var isErased bool
		if err := rows.Scan(&id, &data, &isErased); err != nil {
			t.Fatal(err)
		}
		if wantErased := id[:5] == "gone-"; isErased != wantErased || (data == "{}") != wantErased {
			t.Errorf("event %s: data %s, erased %v", id, data, isErased)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}
