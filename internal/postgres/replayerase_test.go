package postgres_test

import (
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/postgres/pgtest"
)

// TestReplayAndEraseLockInOneOrder: an erasure of a user's events (z
// accepted first, then a) locks them in id order: it holds a and waits
// for z. A replay chunk that locked them in its own order (z, then a)
// would hold z and wait for a: a deadlock, one of them aborted (40P01; the
// erasure answered 503, half done). The chunk locks them in id order too,
// so it waits for the erasure, then replays nothing of the erased events.
func TestReplayAndEraseLockInOneOrder(t *testing.T) {
	s := pgtest.Open(t)
	ctx := ctxT(t)
	w := newWebhook(t, s, "ASSET_ADDED")
	user := int64(42)
	at := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	for i, id := range []string{"z", "a"} {
		e := &hookd.Event{ID: id, Event: "ASSET_ADDED", UserID: &user, CreatedAt: at.Add(time.Duration(i) * time.Second)}
		if _, err := s.PublishEvents(ctx, []*hookd.Event{e}); err != nil {
			t.Fatal(err)
		}
	}
	replay, err := hookd.NewReplay(w.ID, at.Add(-time.Second), nil, true, time.Now(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateReplay(ctx, replay); err != nil {
		t.Fatal(err)
	}

	// The erasure queues first for a, the replay behind it.
	hold, err := s.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hold.Rollback(ctx) })
	var holdPID int
	if err := hold.QueryRow(ctx, `SELECT pg_backend_pid() FROM events WHERE id = 'a' FOR UPDATE`).Scan(&holdPID); err != nil {
		t.Fatal(err)
	}
	erased := make(chan error, 1)
	var erasure hookd.Erased
	go func() {
		var err error
		erasure, err = s.Erase(ctx, hookd.Erasure{UserID: &user})
		erased <- err
	}()
	erasePID := blockedBy(t, s, holdPID, erased)
	replayed := make(chan error, 1)
	go func() {
		_, _, err := s.ReplayChunk(ctx, replay.ID)
		replayed <- err
	}()
	blockedBy(t, s, erasePID, replayed) // waits for a, behind the erasure
	if err := hold.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-erased; err != nil {
		t.Fatalf("erasure beside a replay: %v", err)
	}
	if err := <-replayed; err != nil {
		t.Fatalf("replay beside an erasure: %v", err)
	}
	if erasure.Events != 2 {
		t.Errorf("erased %+v, want both events", erasure)
	}
	var queued int
	if err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM deliveries WHERE replay_id IS NOT NULL`).Scan(&queued); err != nil {
		t.Fatal(err)
	}
	if queued != 0 {
		t.Errorf("the replay queued %d deliveries of erased events", queued)
	}
}
