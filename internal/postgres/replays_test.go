package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/clocktest"
	"github.com/hookd/hookd/internal/postgres/pgtest"
	"github.com/hookd/hookd/internal/storeopt"
	"github.com/hookd/hookd/internal/storetest"
)

// A replay that one process began, another goes on with, on the same
// database.
func TestReplayResumesInAnotherProcess(t *testing.T) {
	schema := pgtest.Schema(t)
	storetest.ReplayResumes(t, pgtest.OpenSchema(t, schema), func() hookd.Store { return pgtest.OpenSchema(t, schema) })
}

// Migration 0016 rebuilds deliveries as a partitioned table: the replay's
// column and index (0013) must come through it, on every partition.
func TestReplayIndexSurvivesPartitioning(t *testing.T) {
	schema := pgtest.Schema(t)
	pgtest.OpenSchema(t, schema)
	db, err := pgxpool.NewWithConfig(context.Background(), pgtest.Config(t, schema))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, table := range []string{"deliveries", "deliveries_queue", "deliveries_done"} {
		var def string
		err := db.QueryRow(context.Background(), `SELECT indexdef FROM pg_indexes
			WHERE schemaname = $1 AND tablename = $2 AND indexdef LIKE '%(replay_id, state)%WHERE (replay_id IS NOT NULL)%'`,
			schema, table).Scan(&def)
		if err != nil {
			t.Errorf("%s: no index on (replay_id, state): %v", table, err)
		}
	}
}

// Cancelling a replay takes the locks of its lanes before it drops their
// deliveries, as every transaction that changes a lane's deliveries does.
// It used to drop them first: a Complete holding the lock of the lane, and
// unblocking its next delivery, waited for the row the cancel had dropped,
// while the cancel waited for the lock, and PostgreSQL broke the deadlock
// by failing one of them.
func TestCancelReplayLocksItsLanesFirst(t *testing.T) {
	clock := clocktest.New(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC))
	s := pgtest.Open(t, storeopt.WithClock(clock))
	ctx := ctxT(t)
	w := newWebhook(t, s, "ASSET_REMOVED")
	published := publish(t, s, hookd.ReplayChunkSize+10, "ASSET_ADDED") // none for w yet
	if _, err := s.UpdateWebhook(ctx, w.ID, hookd.WebhookUpdate{TriggerEvents: []string{"ASSET_ADDED"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateSettings(ctx, w.ID, hookd.WebhookSettings{Ordering: hookd.OrderWebhook}.Update()); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	r, err := hookd.NewReplay(w.ID, clock.Now().Add(-time.Hour), nil, false, clock.Now(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateReplay(ctx, r); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.ReplayChunk(ctx, r.ID); err != nil { // a chunk: the replay still runs
		t.Fatal(err)
	}
	head, err := storetest.Deliveries(s.Claim(ctx, hookd.ClaimRequest{Worker: "w", Limit: 10, Lease: time.Minute, Workers: storetest.Workers}))
	if err != nil || len(head) != 1 {
		t.Fatalf("claim: %d, %v; want the lane's head", len(head), err)
	}

	// Hold the lane's lock, so that the Complete and the cancel both wait.
	x := holdLane(t, s, w.ID, &published[0].Event)
	completed, cancelled := make(chan error, 1), make(chan error, 1)
	go func() {
		completed <- s.Complete(ctx, []hookd.AttemptResult{{DeliveryID: head[0].ID, WebhookID: w.ID, Worker: "w",
			Attempt: 1, At: clock.Now(), Success: true, HTTPStatus: 200}})
	}()
	awaitLockWaits(t, s, completed, 1, "advisory")
	go func() {
		_, err := s.CancelReplay(ctx, w.ID, r.ID)
		cancelled <- err
	}()
	awaitLockWaits(t, s, cancelled, 2, "advisory", "transactionid")
	if err := x.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-completed; err != nil {
		t.Errorf("Complete: %v", err)
	}
	if err := <-cancelled; err != nil {
		t.Errorf("CancelReplay: %v", err)
	}
}
