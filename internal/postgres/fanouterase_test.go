package postgres_test

import (
	"testing"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/postgres"
	"github.com/hookd/hookd/internal/postgres/pgtest"
	"github.com/hookd/hookd/internal/storeopt"
)

// TestFanOutAndEraseLockInOneOrder: a FanOut chunk that has locked event b
// (accepted first) reaches event a while an erasure of both, locking them
// in id order, holds a and waits for b. Had FanOut waited for a, each would
// wait for the other: a deadlock, one of them aborted (40P01; the erasure
// answered 503). FanOut ends its chunk before a instead; the erasure then
// cancels what FanOut created, and the next chunk creates nothing for the
// erased a.
func TestFanOutAndEraseLockInOneOrder(t *testing.T) {
	const chunk = 2
	s := pgtest.Open(t, storeopt.WithFanOutChunk(chunk))
	ctx := ctxT(t)
	for range chunk + 1 {
		newWebhook(t, s, "ASSET_ADDED")
	}
	project := "p"
	var events []*hookd.Event
	for _, id := range []string{"b", "a"} {
		events = append(events, &hookd.Event{ID: id, Event: "ASSET_ADDED", ProjectID: &project})
	}
	if _, err := s.PublishEvents(ctx, events); err != nil { // beyond the chunk: both left to FanOut, b first
		t.Fatal(err)
	}
	if more, err := s.FanOut(ctx); err != nil || !more { // b's first chunk
		t.Fatalf("FanOut: %v, %v; want more to do", more, err)
	}

	// FanOut's next chunk ends b's deliveries, then waits for a's turn.
	hold, err := s.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hold.Rollback(ctx) })
	var holdPID int
	if err := hold.QueryRow(ctx, `SELECT pg_backend_pid() FROM fan_outs WHERE event_id = 'a' FOR UPDATE`).Scan(&holdPID); err != nil {
		t.Fatal(err)
	}
	fannedOut := make(chan error, 1)
	go func() {
		_, err := s.FanOut(ctx)
		fannedOut <- err
	}()
	fanOutPID := blockedBy(t, s, holdPID, fannedOut)

	erased := make(chan error, 1)
	var erasure hookd.Erased
	go func() {
		var err error
		erasure, err = s.Erase(ctx, hookd.Erasure{ProjectID: project})
		erased <- err
	}()
	blockedBy(t, s, fanOutPID, erased) // the erasure holds a and waits for b
	if err := hold.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-fannedOut; err != nil {
		t.Errorf("FanOut beside the erasure: %v", err)
	}
	if err := <-erased; err != nil {
		t.Fatalf("erasure beside FanOut: %v", err)
	}
	if want := (hookd.Erased{Events: 2, Cancelled: chunk + 1}); erasure != want {
		t.Errorf("erased %+v, want %+v (b's deliveries cancelled)", erasure, want)
	}
	for more := true; more; {
		if more, err = s.FanOut(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var created, pending int
	if err := s.Pool().QueryRow(ctx, `SELECT count(*) FILTER (WHERE event_id = 'a'), count(*) FILTER (WHERE state = 'pending')
		FROM deliveries`).Scan(&created, &pending); err != nil {
		t.Fatal(err)
	}
	if created != 0 || pending != 0 {
		t.Errorf("%d deliveries of the erased a, %d pending, want none", created, pending)
	}
}

// blockedBy returns the process id of a session that waits for a lock that
// the session pid holds, once there is one, and fails the test if done
// delivers first: what was to wait ended without.
func blockedBy(t *testing.T, s *postgres.Store, pid int, done <-chan error) int {
	t.Helper()
	for {
		select {
		case err := <-done:
			t.Fatalf("ended without waiting for session %d: %v", pid, err)
		default:
		}
		var blocked []int
		if err := s.Pool().QueryRow(ctxT(t), `SELECT coalesce(array_agg(pid), '{}') FROM pg_stat_activity
			WHERE $1::int = ANY(pg_blocking_pids(pid))`, pid).Scan(&blocked); err != nil {
			t.Fatal(err)
		}
		if len(blocked) > 0 {
			return blocked[0]
		}
	}
}
