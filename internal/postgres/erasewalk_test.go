package postgres_test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/postgres"
	"github.com/hookd/hookd/internal/postgres/pgtest"
	"github.com/hookd/hookd/internal/storeopt"
)

// TestEraseHoldsOneChunk: an erasure of a project reads its events a
// chunk (hookd.EraseChunk) at a time, and erases each chunk, in its own
// transaction, before it reads the next, so that it holds one chunk's ids
// whatever the project's size. Each read is one descent of the index of
// (project_id, id), with no sort of the project's events.
func TestEraseHoldsOneChunk(t *testing.T) {
	var mu sync.Mutex
	var statements []string
	s := pgtest.Open(t, storeopt.WithQueryObserver(func(query string, _ time.Duration, _ error) {
		mu.Lock()
		statements = append(statements, strings.Join(strings.Fields(query), " "))
		mu.Unlock()
	}))
	ctx := ctxT(t)
	for _, id := range []string{"big", "small"} {
		if err := s.CreateProject(ctx, &hookd.Project{ID: id, Title: id}); err != nil {
			t.Fatal(err)
		}
	}
	big, small := "big", "small"
	n := 2*hookd.EraseChunk + 1 // two full chunks and one event
	var events []*hookd.Event
	for i := range n {
		events = append(events, &hookd.Event{ID: fmt.Sprintf("e-%04d", i), Event: "ASSET_ADDED", ProjectID: &big})
		if i%100 == 0 {
			events = append(events, &hookd.Event{ID: fmt.Sprintf("e-%04d-small", i), Event: "ASSET_ADDED", ProjectID: &small})
		}
	}
	if _, err := s.PublishEvents(ctx, events); err != nil {
		t.Fatal(err)
	}

	mu.Lock()
	statements = nil
	mu.Unlock()
	erased, err := s.Erase(ctx, hookd.Erasure{ProjectID: big})
	if err != nil {
		t.Fatal(err)
	}
	if want := (hookd.Erased{Events: n}); erased != want {
		t.Errorf("erased %+v, want %+v", erased, want)
	}
	walk := strings.Join(strings.Fields(postgres.EraseWalkSQL[true]), " ")
	var steps []string
	mu.Lock()
	for _, st := range statements {
		switch st {
		case walk:
			steps = append(steps, "read")
		case "begin", "commit":
			steps = append(steps, st)
		}
	}
	mu.Unlock()
	if want := slices.Repeat([]string{"read", "begin", "commit"}, 3); !slices.Equal(steps, want) {
		t.Errorf("the erasure's reads and transactions: %q, want %q", steps, want)
	}

	// With whole-table and bitmap scans ruled out (a few events are
	// cheaper to sort), reading the walk's chunk without a sort takes an
	// index of (project_id, id), or (user_id, id).
	if _, err := s.Pool().Exec(ctx, `ANALYZE events`); err != nil {
		t.Fatal(err)
	}
	for byProject, key := range map[bool]any{true: small, false: int64(7)} {
		var lines []string
		err := pgx.BeginFunc(ctx, s.Pool(), func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off`); err != nil {
				return err
			}
			rows, _ := tx.Query(ctx, "EXPLAIN (COSTS OFF) "+postgres.EraseWalkSQL[byProject], key, "", hookd.EraseChunk)
			var err error
			lines, err = pgx.CollectRows(rows, pgx.RowTo[string])
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		index := map[bool]string{true: "events_project", false: "events_user"}[byProject]
		if plan := strings.Join(lines, "\n"); !strings.Contains(plan, "Index Scan using "+index+" ") || strings.Contains(plan, "Sort") {
			t.Errorf("the walk reads other than by %s, in order:\n%s", index, plan)
		}
	}
}
