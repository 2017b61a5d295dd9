package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/postgres"
	"github.com/hookd/hookd/internal/postgres/pgtest"
	"github.com/hookd/hookd/internal/storetest"
)

// storeOps calls every Store method that touches the database, each time
// with new data, on a store with a webhook w.
func storeOps(s *postgres.Store, w *hookd.Webhook) []struct {
	name string
	call func(ctx context.Context) error
} {
	var n atomic.Int64
	next := func() int64 { return n.Add(1) }
	event := func() *hookd.Event {
		return &hookd.Event{Event: "ASSET_ADDED", Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, next()))}
	}
	type op = struct {
		name string
		call func(ctx context.Context) error
	}
	ignore := func(err error) error {
		if errors.Is(err, hookd.ErrNotFound) || errors.Is(err, hookd.ErrConflict) {
			return nil
		}
		return err
	}
	return []op{
		{"Ping", s.Ping},
		{"CreateAPIKey", func(ctx context.Context) error {
			i := next()
			return s.CreateAPIKey(ctx, &hookd.APIKey{UserID: 1, Prefix: fmt.Sprintf("k%d", i), SecretHash: hookd.HashSecret("x"), Name: "k", Role: hookd.RoleAdmin})
		}},
		{"APIKeyByPrefix", func(ctx context.Context) error { _, err := s.APIKeyByPrefix(ctx, "k1"); return ignore(err) }},
		{"ListAPIKeys", func(ctx context.Context) error { _, err := s.ListAPIKeys(ctx, 1); return err }},
		{"TouchAPIKey", func(ctx context.Context) error { return ignore(s.TouchAPIKey(ctx, 1)) }},
		{"CreateProject", func(ctx context.Context) error {
			return s.CreateProject(ctx, &hookd.Project{ID: fmt.Sprintf("p%d", next()), Title: "p"})
		}},
		{"ListProjects", func(ctx context.Context) error {
			_, err := s.ListProjects(ctx, hookd.ProjectFilter{Limit: 1})
			return err
		}},
		{"CreateWebhook", func(ctx context.Context) error {
			return s.CreateWebhook(ctx, &hookd.Webhook{Name: "x", HTTPURL: "http://127.0.0.1:1/", HTTPMethod: "POST", TriggerEvents: []string{"USER_ADDED"}}, hookd.NewSigningSecret())
		}},
		{"Webhook", func(ctx context.Context) error { _, err := s.Webhook(ctx, w.ID); return err }},
		{"ListWebhooks", func(ctx context.Context) error { _, err := s.ListWebhooks(ctx, hookd.WebhookFilter{}); return err }},
		{"UpdateWebhook", func(ctx context.Context) error {
			name := fmt.Sprintf("w%d", next())
			_, err := s.UpdateWebhook(ctx, w.ID, hookd.WebhookUpdate{Name: &name})
			return err
		}},
		{"AddHeader", func(ctx context.Context) error {
			return s.AddHeader(ctx, &hookd.Header{WebhookID: w.ID, Key: fmt.Sprintf("X-H%d", next()), Value: "v"})
		}},
		{"Secrets", func(ctx context.Context) error { _, err := s.Secrets(ctx, w.ID); return err }},
		{"PublishEvents", func(ctx context.Context) error {
			_, err := s.PublishEvents(ctx, []*hookd.Event{event(), event()})
			return err
		}},
		{"PublishTo", func(ctx context.Context) error { return s.PublishTo(ctx, w.ID, event()) }},
		{"Claim+Complete", func(ctx context.Context) error {
			worker := fmt.Sprintf("w%d", next())
			ds, err := storetest.Deliveries(s.Claim(ctx, hookd.ClaimRequest{Worker: worker, Limit: 2, Lease: time.Minute, Workers: storetest.Workers}))
			if err != nil {
				return err
			}
			var rs []hookd.AttemptResult
			for _, d := range ds {
				rs = append(rs, hookd.AttemptResult{DeliveryID: d.ID, WebhookID: d.WebhookID, Worker: worker, Attempt: 1, At: hookd.SystemClock.Now(), Success: true, HTTPStatus: 200})
			}
			return s.Complete(ctx, rs)
		}},
		{"Targets", func(ctx context.Context) error { _, err := s.Targets(ctx, []int64{w.ID}); return err }},
		{"Log", func(ctx context.Context) error { _, err := s.Log(ctx, w.ID, true, 1, 10); return err }},
		{"Requeue", func(ctx context.Context) error {
			_, err := s.Requeue(ctx, w.ID, time.Time{}, hookd.SystemClock.Now())
			return err
		}},
		{"Prune", func(ctx context.Context) error {
			_, err := s.Prune(ctx, hookd.SystemClock.Now().Add(-time.Hour))
			return err
		}},
		{"DisableFailing", func(ctx context.Context) error {
			_, err := s.DisableFailing(ctx, hookd.SystemClock.Now().Add(-time.Hour))
			return err
		}},
		{"TryLead", func(ctx context.Context) error {
			release, _, err := s.TryLead(ctx, "fault-test")
			if release != nil {
				release()
			}
			return err
		}},
	}
}

// When the database goes away (sessions terminated as a restart ends them,
// then unreachable) every Store method answers ErrUnavailable, the API's
// 503, rather than another error; and the store works again by itself
// once the database is back.
func TestUnavailableAndRecovery(t *testing.T) {
	schema := pgtest.Schema(t)
	proxy := pgtest.NewProxy(t)
	s, err := postgres.OpenConfig(ctxT(t), proxy.Config(t, schema))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	w := newWebhook(t, s, "ASSET_ADDED")
	ops := storeOps(s, w)
	call := func(op struct {
		name string
		call func(ctx context.Context) error
	}) error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return op.call(ctx)
	}
	allWork := func(when string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for _, op := range ops {
			for {
				err := call(op)
				if err == nil {
					break
				}
				if !errors.Is(err, hookd.ErrUnavailable) {
					t.Errorf("%s %s: %v, want success or ErrUnavailable", when, op.name, err)
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s %s still fails: %v", when, op.name, err)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	}
	allWork("at first:")

	// Sessions terminated (what a restart does to them): a call fails with
	// ErrUnavailable or, on a fresh connection, works.
	for round := range 3 {
		n := pgtest.Terminate(t, schema)
		t.Logf("round %d: terminated %d sessions", round+1, n)
		failed := 0
		for _, op := range ops {
			if err := call(op); err != nil {
				failed++
				if !errors.Is(err, hookd.ErrUnavailable) {
					t.Errorf("after terminating the sessions, %s: %v, want ErrUnavailable", op.name, err)
				}
			}
		}
		t.Logf("round %d: %d of %d calls failed, with ErrUnavailable", round+1, failed, len(ops))
		allWork("after terminating the sessions:")
	}

	// Unreachable: every call fails, with ErrUnavailable, at once.
	proxy.Cut()
	for _, op := range ops {
		start := time.Now()
		err := call(op)
		if !errors.Is(err, hookd.ErrUnavailable) {
			t.Errorf("database unreachable, %s: %v, want ErrUnavailable", op.name, err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("database unreachable, %s took %s to fail", op.name, d)
		}
	}
	proxy.Restore(t)
	allWork("after the database came back:")
}

// A connection lost in the middle of a query or of a transaction is
// ErrUnavailable too.
func TestUnavailableMidQuery(t *testing.T) {
	schema := pgtest.Schema(t)
	proxy := pgtest.NewProxy(t)
	s, err := postgres.OpenConfig(ctxT(t), proxy.Config(t, schema))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	newWebhook(t, s, "ASSET_ADDED")

	// A query running when the connection drops.
	errs := make(chan error, 1)
	go func() {
		_, err := s.Pool().Exec(context.Background(), "SELECT pg_sleep(10)")
		errs <- err
	}()
	time.Sleep(300 * time.Millisecond)
	proxy.Cut()
	if err := <-errs; !errors.Is(postgres.WrapErr(err), hookd.ErrUnavailable) {
		t.Errorf("query cut off: %v (%T), want ErrUnavailable", err, err)
	}
	proxy.Restore(t)

	// Large publishes cut at various points, and sessions terminated
	// during them.
	evs := make([]*hookd.Event, 1000)
	for i := range evs {
		evs[i] = &hookd.Event{Event: "ASSET_ADDED", Data: json.RawMessage(`{"pad":"` + fmt.Sprintf("%0500d", i) + `"}`)}
	}
	failed := 0
	for i := range 10 {
		errs := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			batch := make([]*hookd.Event, len(evs))
			for j, e := range evs {
				c := *e
				batch[j] = &c
			}
			_, err := s.PublishEvents(ctx, batch)
			errs <- err
		}()
		time.Sleep(time.Duration(i*7) * time.Millisecond)
		if i%2 == 0 {
			proxy.Cut()
		} else {
			pgtest.Terminate(t, schema)
		}
		if err := <-errs; err != nil {
			failed++
			if !errors.Is(err, hookd.ErrUnavailable) {
				t.Errorf("publish %d cut off: %v, want ErrUnavailable", i+1, err)
			}
		}
		proxy.Restore(t)
	}
	t.Logf("%d of 10 publishes were cut off, all with ErrUnavailable", failed)
}

// Errors that a retry can cure are ErrUnavailable, whether they come from
// connecting or from a statement; the others are not.
func TestUnavailableCodes(t *testing.T) {
	cases := []struct {
		err  error
		want bool
	}{
		{&pgconn.PgError{Code: "55000", Message: `database "x" is not currently accepting connections`}, true},
		{&pgconn.PgError{Code: "57P03", Message: "the database system is starting up"}, true},
		{&pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"}, true},
		{&pgconn.PgError{Code: "53300", Message: "sorry, too many clients already"}, true},
		{&pgconn.PgError{Code: "53100", Message: "could not extend file: No space left on device"}, true},
		{&pgconn.PgError{Code: "08006"}, true},
		{&pgconn.PgError{Code: "57014", Message: "canceling statement due to statement timeout"}, true},
		{&pgconn.PgError{Code: "25006", Message: "cannot execute INSERT in a read-only transaction"}, true},
		{&pgconn.PgError{Code: "40001"}, true},
		{fmt.Errorf("acquire: %w", context.DeadlineExceeded), true},
		{fmt.Errorf("acquire: %w", context.Canceled), false},
		{&pgconn.PgError{Code: "23505"}, false},
		{&pgconn.PgError{Code: "42P01", Message: `relation "x" does not exist`}, false},
	}
	for _, c := range cases {
		if got := errors.Is(postgres.WrapErr(c.err), hookd.ErrUnavailable); got != c.want {
			t.Errorf("%v: unavailable %t, want %t", c.err, got, c.want)
		}
	}
}
