package intake_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/intake"
	"github.com/hookd/hookd/internal/sqlite/sqlitetest"
)

// gatedStore is a real SQLite store whose first PublishEvents waits for
// release, so that the requests that come meanwhile are known to wait
// together; it counts the calls, and fails any call that holds an event
// named "bad".
type gatedStore struct {
	hookd.Store
	release chan struct{}
	gated   atomic.Bool
	calls   atomic.Int64
}

func (s *gatedStore) PublishEvents(ctx context.Context, events []*hookd.Event) ([]hookd.Published, error) {
	s.calls.Add(1)
	if s.gated.CompareAndSwap(false, true) {
		<-s.release
	}
	for _, e := range events {
		if e.ID == "bad" {
			return nil, errors.New("refused: bad")
		}
	}
	return s.Store.PublishEvents(ctx, events)
}

func openStore(t *testing.T) *gatedStore {
	st := sqlitetest.Open(t)
	w := &hookd.Webhook{Name: "w", HTTPURL: "http://127.0.0.1:9/", HTTPMethod: "POST", TriggerEvents: []string{"ASSET_ADDED"}}
	if err := st.CreateWebhook(context.Background(), w, hookd.NewSigningSecret()); err != nil {
		t.Fatal(err)
	}
	return &gatedStore{Store: st, release: make(chan struct{})}
}

// publishAll publishes one event per id at once, the first alone (it holds
// the gate) and the others while it waits, and returns each one's result.
func publishAll(t *testing.T, st *gatedStore, g *intake.GroupCommit, ids []string) ([][]hookd.Published, []error) {
	t.Helper()
	outs, errs := make([][]hookd.Published, len(ids)), make([]error, len(ids))
	var wg sync.WaitGroup
	publish := func(i int) {
		outs[i], errs[i] = g.Publish(context.Background(), []*hookd.Event{{ID: ids[i], Event: "ASSET_ADDED"}})
	}
	wg.Go(func() { publish(0) })
	for st.calls.Load() == 0 { // until the first request holds the gate
		runtime.Gosched()
	}
	for i := 1; i < len(ids); i++ {
		wg.Go(func() { publish(i) })
	}
	for g.Waiting() < len(ids)-1 { // until the others wait
		runtime.Gosched()
	}
	close(st.release)
	wg.Wait()
	return outs, errs
}

// Requests that come while a commit runs share the next one: 30 requests
// make two transactions, and each gets its own events back, stored.
func TestGroupCommitSharesTransactions(t *testing.T) {
	st := openStore(t)
	g := intake.New(st, nil)
	ids := make([]string, 30)
	for i := range ids {
		ids[i] = fmt.Sprint("evt-", i)
	}
	outs, errs := publishAll(t, st, g, ids)
	for i := range ids {
		if errs[i] != nil || len(outs[i]) != 1 || outs[i][0].Event.ID != ids[i] || outs[i][0].Deliveries != 1 {
			t.Errorf("request %d: %+v, %v", i, outs[i], errs[i])
		}
	}
	if n := st.calls.Load(); n != 2 {
		t.Errorf("%d PublishEvents calls for 30 requests, want 2 (one alone, then one for the 29 that waited)", n)
	}
	again, err := st.Store.PublishEvents(context.Background(), []*hookd.Event{{ID: "evt-17", Event: "ASSET_ADDED"}})
	if err != nil || !again[0].Duplicate {
		t.Errorf("evt-17 was not stored: %+v, %v", again, err)
	}
}

// One request whose events fail its group's transaction fails alone: the
// group is stored again request by request. The events stored are told
// once each, those that failed never.
func TestGroupCommitIsolatesAFailingRequest(t *testing.T) {
	st := openStore(t)
	var (
		mu   sync.Mutex
		told []string
	)
	g := intake.New(st, func(published []hookd.Published) {
		mu.Lock()
		defer mu.Unlock()
		for _, p := range published {
			told = append(told, p.Event.ID)
		}
	})
	ids := []string{"first", "a", "bad", "b"}
	outs, errs := publishAll(t, st, g, ids)
	for i, id := range ids {
		switch {
		case id == "bad" && errs[i] == nil:
			t.Errorf("the bad request succeeded")
		case id != "bad" && (errs[i] != nil || outs[i][0].Event.ID != id):
			t.Errorf("request %q: %+v, %v", id, outs[i], errs[i])
		}
	}
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(told)
	if want := []string{"a", "b", "first"}; !slices.Equal(told, want) {
		t.Errorf("told %q as published, want %q", told, want)
	}
}

// goPublish publishes an event of id in a goroutine of wg.
func goPublish(t *testing.T, wg *sync.WaitGroup, g *intake.GroupCommit, id string) {
	wg.Go(func() {
		if _, err := g.Publish(context.Background(), []*hookd.Event{{ID: id, Event: "ASSET_ADDED"}}); err != nil {
			t.Errorf("%s: %v", id, err)
		}
	})
}

// heldStore is a real SQLite store each of whose PublishEvents tells how
// many events it carries on entered, then waits for proceed.
type heldStore struct {
	hookd.Store
	entered chan int
	proceed chan struct{}
}

func (s *heldStore) PublishEvents(ctx context.Context, events []*hookd.Event) ([]hookd.Published, error) {
	s.entered <- len(events)
	<-s.proceed
	return s.Store.PublishEvents(ctx, events)
}

// heldGroup returns a GroupCommit, lingering up to linger, on a
// heldStore, and a publish of one event by its id in a goroutine of its
// own, which the test's end waits for.
func heldGroup(t *testing.T, linger time.Duration) (*heldStore, *intake.GroupCommit, func(id string)) {
	st := &heldStore{Store: openStore(t).Store, entered: make(chan int), proceed: make(chan struct{})}
	g := intake.New(st, nil)
	g.SetLinger(linger)
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait)
	t.Cleanup(func() { close(st.proceed) }) // first: a test that failed may have left a commit held
	return st, g, func(id string) { goPublish(t, &wg, g, id) }
}

// After a commit of several requests, the next waits for as many to be
// waiting (or for its linger to end) rather than commit the first that
// came: under load, fewer and larger commits.
func TestGroupCommitLingersAfterAGroup(t *testing.T) {
	st, g, publish := heldGroup(t, time.Hour) // only company ends the wait
	waitFor := func(n int) {
		for g.Waiting() != n {
			runtime.Gosched()
		}
	}
	commit := func(want int) {
		t.Helper()
		if got := <-st.entered; got != want {
			t.Fatalf("a commit of %d events, want %d", got, want)
		}
	}

	publish("alone")
	commit(1) // a request alone does not wait for company
	for _, id := range []string{"a1", "a2", "a3"} {
		publish(id)
	}
	waitFor(3)
	st.proceed <- struct{}{}
	commit(3)
	publish("b1") // comes while the group of 3 commits
	waitFor(1)
	st.proceed <- struct{}{}
	waitFor(1) // the leader waits with b1 for two more
	publish("b2")
	publish("b3")
	commit(3)
	st.proceed <- struct{}{}
}

// groupOfThree publishes a request alone, then three that wait together
// for its commit, and sees them go in one commit, which it holds.
func groupOfThree(t *testing.T, st *heldStore, g *intake.GroupCommit, publish func(id string)) {
	t.Helper()
	publish("first")
	<-st.entered
	for _, id := range []string{"a1", "a2", "a3"} {
		publish(id)
	}
	for g.Waiting() != 3 {
		runtime.Gosched()
	}
	st.proceed <- struct{}{}
	if n := <-st.entered; n != 3 {
		t.Fatalf("second commit of %d events, want 3", n)
	}
}

// The callers of a group send their next requests once it is committed:
// the leader waits for them even when none waits yet, rather than commit
// the first to come alone.
func TestGroupCommitLingersWhenNoneWaitsYet(t *testing.T) {
	st, g, publish := heldGroup(t, time.Hour) // only company ends the wait

	var group sync.WaitGroup
	groupOfThree(t, st, g, func(id string) { goPublish(t, &group, g, id) })
	st.proceed <- struct{}{}
	group.Wait()
	// The group of 3 is committed, its callers have their answers and
	// nothing waits. A leader that did not linger then would have left
	// (the pause lets it: without it this test could pass without the
	// linger, never fail with it), and b1, coming alone, would be
	// committed alone.
	time.Sleep(10 * time.Millisecond)
	publish("b1")
	alone := func(n int) {
		t.Fatalf("a commit of %d events while the leader should wait for company", n)
	}
	for g.Waiting() != 1 {
		select {
		case n := <-st.entered:
			alone(n)
		default:
			runtime.Gosched()
		}
	}
	select {
	case n := <-st.entered:
		alone(n)
	case <-time.After(20 * time.Millisecond):
	}
	publish("b2")
	publish("b3")
	if n := <-st.entered; n != 3 {
		t.Fatalf("third commit of %d events, want b1, b2 and b3", n)
	}
	st.proceed <- struct{}{}
}

// A lingering commit does not wait for company beyond its linger
// (MaxLinger): the request that came alone after a group is stored.
func TestGroupCommitLingerEnds(t *testing.T) {
	st, g, publish := heldGroup(t, intake.MaxLinger)
	groupOfThree(t, st, g, publish)
	publish("b1")
	for g.Waiting() != 1 {
		runtime.Gosched()
	}
	st.proceed <- struct{}{}
	if n := <-st.entered; n != 1 {
		t.Fatalf("third commit of %d events, want b1's 1", n)
	}
	st.proceed <- struct{}{}
}
