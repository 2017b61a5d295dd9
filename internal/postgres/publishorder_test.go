package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/postgres"
	"github.com/hookd/hookd/internal/postgres/pgtest"
	"github.com/hookd/hookd/internal/storeopt"
)

// TestConcurrentPublishesLockInOneOrder: two publishes at once whose
// batches hold the same new ids, or update the same projects, in opposite
// orders, each stopped after its first row until both are there. In batch
// order each would hold one row and wait for the other's: a deadlock, one
// of them aborted (40P01, answered 503). In one order the second waits for
// the first and then succeeds: the events stored once, the repeats answered
// as duplicates in their batch's order, the lane's deliveries in the
// order of the batch that stored them.
func TestConcurrentPublishesLockInOneOrder(t *testing.T) {
	const key = 7
	batches := func(name string, projects ...string) [2][]*hookd.Event {
		var b [2][]*hookd.Event
		for i := range 2 {
			for j := range 2 {
				e := &hookd.Event{Event: name, Data: []byte(`{}`), PublisherKeyID: key}
				if projects == nil {
					e.ID = []string{"a", "b"}[(i+j)%2]
				} else {
					e.ProjectID = &projects[(i+j)%2]
				}
				b[i] = append(b[i], e)
			}
		}
		return b
	}

	t.Run("the same ids, in one statement", func(t *testing.T) {
		var atOnce atomic.Int32
		s := pgtest.Open(t, storeopt.WithQueryObserver(func(query string, _ time.Duration, _ error) {
			if strings.HasPrefix(strings.TrimSpace(query), "WITH v AS") {
				atOnce.Add(1)
			}
		}))
		publish(t, s, 1, "ASSET_ADDED") // the index read: the next publishes take publishAtOnce
		atOnce.Store(0)
		res := publishPaused(t, s, "events", batches("ASSET_ADDED"))
		sameIDsOnce(t, s, res)
		if n := atOnce.Load(); n != 2 {
			t.Errorf("%d publishes tried the one statement, want both", n)
		}
	})

	t.Run("the same ids, in a transaction, into an ordered lane", func(t *testing.T) {
		s := pgtest.Open(t)
		w := newWebhook(t, s, "ASSET_ADDED")
		if err := s.UpdateSettings(ctxT(t), w.ID, hookd.WebhookSettings{Ordering: hookd.OrderWebhook}.Update()); err != nil {
			t.Fatal(err)
		}
		res := publishPaused(t, s, "events", batches("ASSET_ADDED"))
		stored := sameIDsOnce(t, s, res)

		// The lane holds the events in the order of the batch that stored
		// them, its first one due, the other blocked behind it.
		rows, _ := s.Pool().Query(ctxT(t), `SELECT event_id, next_attempt_at <> $2 FROM deliveries
			WHERE webhook_id = $1 ORDER BY id`, w.ID, hookd.LaneBlocked)
		type delivery struct {
			Event string
			Due   bool
		}
		got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[delivery])
		if err != nil {
			t.Fatal(err)
		}
		want := []delivery{{stored[0].Event.ID, true}, {stored[1].Event.ID, false}}
		if !slices.Equal(got, want) {
			t.Errorf("the lane's deliveries %+v, want %+v", got, want)
		}
	})

	t.Run("the same projects", func(t *testing.T) {
		s := pgtest.Open(t)
		res := publishPaused(t, s, "projects", batches(hookd.EventProjectAdded, "p", "q"))
		for i, r := range res {
			if r[0].Duplicate || r[1].Duplicate {
				t.Errorf("batch %d of new events answered %+v, want no duplicate", i, r)
			}
		}
		projects, err := s.ListProjects(ctxT(t), hookd.ProjectFilter{Limit: hookd.MaxProjectPage})
		if err != nil {
			t.Fatal(err)
		}
		if len(projects) != 2 {
			t.Errorf("registered %+v, want p and q", projects)
		}
	})
}

// sameIDsOnce checks the answers of two batches of the same ids: each in
// its batch's order, one stored, the other its duplicates, and each event
// stored once. It returns the answer that stored them.
func sameIDsOnce(t *testing.T, s *postgres.Store, res [2][]hookd.Published) []hookd.Published {
	t.Helper()
	for i, r := range res {
		if r[0].Event.ID != []string{"a", "b"}[i] || r[1].Event.ID != []string{"b", "a"}[i] {
			t.Errorf("batch %d answered %+v, not in its order", i, r)
		}
	}
	stored := slices.IndexFunc(res[:], func(r []hookd.Published) bool { return !r[0].Duplicate && !r[1].Duplicate })
	if stored < 0 || !res[1-stored][0].Duplicate || !res[1-stored][1].Duplicate {
		t.Fatalf("answered %+v, want one batch stored and the other its duplicates", res)
	}
	var n int
	if err := s.Pool().QueryRow(ctxT(t), `SELECT count(*) FROM events WHERE id IN ('a', 'b')`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("%d events stored, want 2", n)
	}
	return res[stored]
}

// publishPaused publishes the batches at once on s, each transaction stopped
// before its second row of table until both wait (for the pause or for the
// other), and returns their answers.
func publishPaused(t *testing.T, s *postgres.Store, table string, batches [2][]*hookd.Event) [2][]hookd.Published {
	t.Helper()
	release := pauseSecondInsert(t, s, table)
	var res [2][]hookd.Published
	done := make(chan error, 2)
	ctx := ctxT(t)
	for i, b := range batches {
		go func() {
			var err error
			res[i], err = s.PublishEvents(ctx, b)
			done <- err
		}()
	}
	release(2, done)
	var errs []error
	for range batches {
		errs = append(errs, <-done)
	}
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent publishes: %v", err)
	}
	return res
}

// pauseSecondInsert makes every transaction on s's schema that inserts a
// second row into table wait, before that row, for an advisory lock that
// the test holds. The returned release lets them go once n sessions wait
// behind it, directly or behind one that does; it fails the test if done
// delivers first: what was to wait ended without.
func pauseSecondInsert(t *testing.T, s *postgres.Store, table string) (release func(n int, done <-chan error)) {
	t.Helper()
	pause, err := s.Pool().Begin(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pause.Rollback(context.Background()) })
	var pausePID int
	if err := pause.QueryRow(ctxT(t), `SELECT pg_backend_pid()`).Scan(&pausePID); err != nil {
		t.Fatal(err)
	}
	if _, err := pause.Exec(ctxT(t), `SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.pause'))`); err != nil {
		t.Fatal(err)
	}
	_, err = s.Pool().Exec(ctxT(t), fmt.Sprintf(`
		CREATE FUNCTION pause_second_insert() RETURNS trigger LANGUAGE plpgsql AS $$
		DECLARE
			inserted int := coalesce(nullif(current_setting('hookd_test.inserted', true), ''), '0')::int + 1;
		BEGIN
			PERFORM set_config('hookd_test.inserted', inserted::text, true);
			IF inserted = 2 THEN
				PERFORM pg_advisory_xact_lock_shared(hashtext(TG_TABLE_SCHEMA || '.pause'));
			END IF;
			RETURN NEW;
		END $$;
		CREATE TRIGGER pause_second_insert BEFORE INSERT ON %s FOR EACH ROW EXECUTE FUNCTION pause_second_insert();`,
		pgx.Identifier{table}.Sanitize()))
	if err != nil {
		t.Fatal(err)
	}
	return func(n int, done <-chan error) {
		t.Helper()
		for waiting := 0; waiting < n; {
			select {
			case err := <-done:
				t.Fatalf("a publish ended without waiting: %v", err)
			default:
			}
			if err := s.Pool().QueryRow(ctxT(t), `
				WITH RECURSIVE behind(pid) AS (
					SELECT pid FROM pg_stat_activity WHERE $1::int = ANY(pg_blocking_pids(pid))
					UNION
					SELECT a.pid FROM pg_stat_activity a JOIN behind b ON b.pid = ANY(pg_blocking_pids(a.pid))
				)
				SELECT count(*) FROM behind`, pausePID).Scan(&waiting); err != nil {
				t.Fatal(err)
			}
		}
		if err := pause.Commit(ctxT(t)); err != nil {
			t.Fatal(err)
		}
	}
}
