package postgres_test

import (
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/clocktest"
	"github.com/hookd/hookd/internal/postgres"
	"github.com/hookd/hookd/internal/postgres/pgtest"
	"github.com/hookd/hookd/internal/storeopt"
	"github.com/hookd/hookd/internal/storetest"
)

// TestDisablingParksWhatRacesIt: while a webhook is disabled, whatever
// makes one of its deliveries due parks it instead (hookd.ParkedUntil).
// Each operation here makes a delivery due, from another connection, while
// a disabling of the webhook is held open between its parking and its
// commit. Each used to read the webhook as still enabled and commit in
// between, leaving the webhook disabled with a delivery due, not parked;
// it now waits for the disabling (its lock on the webhook's row), and
// parks what it makes due.
func TestDisablingParksWhatRacesIt(t *testing.T) {
	type setup struct {
		ordering hookd.Ordering
		// prepare readies the webhook's deliveries; op then makes one due.
		prepare func(t *testing.T, s *postgres.Store, clock *clocktest.Clock, w *hookd.Webhook) (op func() error)
	}
	cases := map[string]setup{
		"Requeue": {hookd.Unordered, func(t *testing.T, s *postgres.Store, clock *clocktest.Clock, w *hookd.Webhook) func() error {
			failForGood(t, s, clock, w)
			return func() error {
				_, err := s.Requeue(ctxT(t), w.ID, clock.Now().Add(-time.Hour), clock.Now().Add(time.Hour))
				return err
			}
		}},
		"RequeueFailed": {hookd.Unordered, func(t *testing.T, s *postgres.Store, clock *clocktest.Clock, w *hookd.Webhook) func() error {
			failForGood(t, s, clock, w)
			return func() error {
				_, err := s.RequeueFailed(ctxT(t), clock.Now().Add(-time.Hour), clock.Now().Add(time.Hour))
				return err
			}
		}},
		"PublishTo": {hookd.Unordered, func(t *testing.T, s *postgres.Store, _ *clocktest.Clock, w *hookd.Webhook) func() error {
			return func() error { return s.PublishTo(ctxT(t), w.ID, &hookd.Event{Event: "ASSET_ADDED"}) }
		}},
		"a publish heading an ordered lane": {hookd.OrderWebhook, func(t *testing.T, s *postgres.Store, _ *clocktest.Clock, _ *hookd.Webhook) func() error {
			return func() error {
				_, err := s.PublishEvents(ctxT(t), []*hookd.Event{{Event: "ASSET_ADDED"}})
				return err
			}
		}},
		"an erasure of a lane's head": {hookd.OrderWebhook, func(t *testing.T, s *postgres.Store, _ *clocktest.Clock, _ *hookd.Webhook) func() error {
			head := publish(t, s, 2, "ASSET_ADDED")[0].Event // the second waits behind it
			claimHead(t, s)                                  // in flight: the disabling leaves it be
			return func() error {
				_, err := s.Erase(ctxT(t), hookd.Erasure{EventID: head.ID})
				return err
			}
		}},
		"CancelReplay of a lane's head": {hookd.OrderWebhook, func(t *testing.T, s *postgres.Store, clock *clocktest.Clock, w *hookd.Webhook) func() error {
			r := replayHeadingLane(t, s, clock, w)
			claimHead(t, s) // in flight when the disabling comes
			return func() error {
				clock.Advance(leaseTime) // its lease has ended: the cancel drops it
				_, err := s.CancelReplay(ctxT(t), w.ID, r.ID)
				return err
			}
		}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			clock := clocktest.New(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC))
			s := pgtest.Open(t, storeopt.WithClock(clock))
			w := newWebhook(t, s, "ASSET_ADDED")
			if c.ordering != hookd.Unordered {
				if err := s.UpdateSettings(ctxT(t), w.ID, hookd.WebhookSettings{Ordering: c.ordering}.Update()); err != nil {
					t.Fatal(err)
				}
			}
			op := c.prepare(t, s, clock, w)
			if err := raceDisabling(t, s, w.ID, clock.Now(), op); err != nil {
				t.Fatal(err)
			}
			var parked, due int
			if err := s.Pool().QueryRow(ctxT(t), `SELECT count(*) FILTER (WHERE next_attempt_at = $2),
				count(*) FILTER (WHERE next_attempt_at NOT IN ($2, $3))
				FROM deliveries WHERE webhook_id = $1 AND state = 'pending'`,
				w.ID, hookd.ParkedUntil, hookd.LaneBlocked).Scan(&parked, &due); err != nil {
				t.Fatal(err)
			}
			if parked == 0 || due != 0 {
				t.Errorf("the disabled webhook has %d deliveries parked and %d due, want them parked", parked, due)
			}
		})
	}
}

// raceDisabling disables webhook id as UpdateWebhook does (its row locked
// and updated, its deliveries parked) in a transaction that it holds open
// while op runs from another connection, until op either ends or waits
// for it; it then commits and returns op's error.
func raceDisabling(t *testing.T, s *postgres.Store, id int64, now time.Time, op func() error) error {
	t.Helper()
	ctx := ctxT(t)
	x, err := s.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Rollback(ctx)
	var pid int
	if err := x.QueryRow(ctx, `SELECT pg_backend_pid() FROM webhooks WHERE id = $1 FOR NO KEY UPDATE`, id).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	b := &pgx.Batch{}
	b.Queue(`UPDATE webhooks SET disabled = true, updated_at = $2 WHERE id = $1`, id, now)
	postgres.QueueDisabledChange(b, []int64{id}, hookd.ChangeDisabled(false, true), now)
	if err := x.SendBatch(ctx, b).Close(); err != nil {
		t.Fatal(err)
	}

	done := make(chan error, 1)
	go func() { done <- op() }()
	for {
		select {
		case err := <-done: // it did not wait: it committed before the disabling
			if cerr := x.Commit(ctx); cerr != nil {
				t.Fatal(cerr)
			}
			return err
		default:
		}
		var waiting bool
		if err := s.Pool().QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE $1::int = ANY(pg_blocking_pids(pid)))`, pid).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting {
			if err := x.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			return <-done
		}
	}
}

// failForGood publishes an event to w and fails its delivery for good.
func failForGood(t *testing.T, s *postgres.Store, clock *clocktest.Clock, w *hookd.Webhook) {
	t.Helper()
	publish(t, s, 1, "ASSET_ADDED")
	var id int64
	if err := s.Pool().QueryRow(ctxT(t), `SELECT id FROM deliveries WHERE webhook_id = $1`, w.ID).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if err := s.Complete(ctxT(t), []hookd.AttemptResult{{DeliveryID: id, WebhookID: w.ID, Attempt: 1,
		At: clock.Now(), HTTPStatus: 500}}); err != nil {
		t.Fatal(err)
	}
}

// leaseTime is the lease of claimHead's claim.
const leaseTime = time.Minute

// claimHead claims the one due delivery of s, the head of a lane.
func claimHead(t *testing.T, s *postgres.Store) {
	t.Helper()
	claimed, err := storetest.Deliveries(s.Claim(ctxT(t), hookd.ClaimRequest{Worker: "w", Limit: 10, Lease: leaseTime,
		Workers: storetest.Workers}))
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %d deliveries, %v; want the lane's head", len(claimed), err)
	}
}

// replayHeadingLane starts a replay to the ordered w whose deliveries head
// its lane, with a published event's delivery waiting behind them, and
// returns it running.
func replayHeadingLane(t *testing.T, s *postgres.Store, clock *clocktest.Clock, w *hookd.Webhook) *hookd.Replay {
	t.Helper()
	ctx := ctxT(t)
	if _, err := s.UpdateWebhook(ctx, w.ID, hookd.WebhookUpdate{TriggerEvents: []string{"ASSET_REMOVED"}}); err != nil {
		t.Fatal(err)
	}
	publish(t, s, hookd.ReplayChunkSize+10, "ASSET_ADDED") // none for w: more than a chunk to replay
	if _, err := s.UpdateWebhook(ctx, w.ID, hookd.WebhookUpdate{TriggerEvents: []string{"ASSET_ADDED"}}); err != nil {
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
	if r, _, err = s.ReplayChunk(ctx, r.ID); err != nil || r.State != hookd.ReplayRunning {
		t.Fatalf("replay chunk: %+v, %v; want it running", r, err)
	}
	publish(t, s, 1, "ASSET_ADDED")
	return r
}
