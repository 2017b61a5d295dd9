package delivery

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/intake"
	"github.com/hookd/hookd/internal/sqlite"
	"github.com/hookd/hookd/internal/sqlite/sqlitetest"
)

// leaseCounter counts the claims that leased deliveries, the deliveries
// they leased, and the reads of targets.
type leaseCounter struct {
	hookd.Store
	claims, claimed, targetReads atomic.Int64
}

func (s *leaseCounter) Claim(ctx context.Context, req hookd.ClaimRequest) (hookd.Claimed, error) {
	c, err := s.Store.Claim(ctx, req)
	if n := len(c.Deliveries); n > 0 {
		s.claims.Add(1)
		s.claimed.Add(int64(n))
	}
	return c, err
}

func (s *leaseCounter) Targets(ctx context.Context, ids []int64) (map[int64]*hookd.Target, error) {
	s.targetReads.Add(1)
	return s.Store.Targets(ctx, ids)
}

// handoffCounter counts the deliveries that publishes hand off.
type handoffCounter struct {
	hookd.Handoff
	handedOff atomic.Int64
}

func (h *handoffCounter) Take(req hookd.ClaimRequest, claimed hookd.Claimed) {
	h.handedOff.Add(int64(len(claimed.Deliveries)))
	h.Handoff.Take(req, claimed)
}

// handoffRig is a running dispatcher over SQLite whose intake hands off to
// it, and a webhook of every ASSET_ADDED event.
type handoffRig struct {
	store    *leaseCounter
	handoff  *handoffCounter
	intake   *intake.GroupCommit
	webhook  *hookd.Webhook
	stop     func() time.Duration
	received func() []received
}

func newHandoffRig(t *testing.T, rc *receiver) *handoffRig {
	t.Helper()
	sq, wh := handoffStore(t, rc)
	st := &leaseCounter{Store: sq}
	// A webhook holds a quarter of the workers at most (hookd.DefaultShare):
	// with 64, publishes find room to hand off to.
	d := newDispatcher(t, Config{Store: st, Sender: testSender(5 * time.Second), Policy: fastPolicy(), Concurrency: 64})
	h := &handoffCounter{Handoff: d}
	g := intake.New(st, nil)
	g.HandOffTo(h)
	stop := runDispatcher(t, d)
	waitUntilOffering(t, d)
	return &handoffRig{store: st, handoff: h, intake: g, webhook: wh, stop: stop, received: rc.requests}
}

// waitUntilOffering waits until Run offers d's workers, taking back each
// offer it gets with nothing leased, as a publish that leased none would.
func waitUntilOffering(t *testing.T, d *Dispatcher) {
	t.Helper()
	waitFor(t, 10*time.Second, "Run to offer its workers", func() bool {
		req, ok := d.Offer(1)
		if ok {
			d.Take(req, hookd.Claimed{})
		}
		return ok
	})
}

// publishOne publishes one ASSET_ADDED event through the intake and
// returns its id.
func (r *handoffRig) publishOne(t *testing.T) string {
	pub, err := r.intake.Publish(context.Background(), []*hookd.Event{{Event: "ASSET_ADDED", Data: json.RawMessage(`{}`)}})
	if err != nil {
		t.Error(err)
		return ""
	}
	if len(pub) != 1 || pub[0].Deliveries != 1 {
		t.Errorf("published %+v, want one event of one delivery", pub)
		return ""
	}
	return pub[0].Event.ID
}

// messageIDs counts the requests received by webhook-id.
func messageIDs(reqs []received) map[string]int {
	ids := map[string]int{}
	for _, r := range reqs {
		ids[r.Header.Get("webhook-id")]++
	}
	return ids
}

// Events published from several goroutines through an intake that hands
// off are each delivered once, each leased once: handed off at publish or
// claimed. While the targets' version stays put, a delivery reads no
// target.
func TestHandoffDeliversEachOnce(t *testing.T) {
	const publishers, each = 5, 10
	const events = publishers * each
	rc := newReceiver(t, nil)
	r := newHandoffRig(t, rc)

	var mu sync.Mutex
	published := map[string]bool{}
	var wg sync.WaitGroup
	for range publishers {
		wg.Go(func() {
			for range each {
				if id := r.publishOne(t); id != "" {
					mu.Lock()
					published[id] = true
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() || len(published) != events {
		t.Fatalf("published %d distinct events, want %d", len(published), events)
	}
	waitFor(t, 20*time.Second, "every event delivered", func() bool { return len(messageIDs(r.received())) >= events })

	// Every lease so far saw the same version, and its target was kept
	// before its attempt: the next delivery takes it from the cache.
	reads := r.store.targetReads.Load()
	published[r.publishOne(t)] = true
	waitFor(t, 10*time.Second, "the last event delivered", func() bool { return len(messageIDs(r.received())) >= events+1 })
	if n := r.store.targetReads.Load(); n != reads {
		t.Errorf("the last delivery read targets %d times, want none: the version did not move", n-reads)
	}
	r.stop()

	reqs := r.received()
	for id, n := range messageIDs(reqs) {
		if n != 1 {
			t.Errorf("message %s delivered %d times", id, n)
		}
	}
	delivered := map[string]int{}
	for _, req := range reqs {
		var body struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(req.Body, &body); err != nil {
			t.Fatalf("body %s: %v", req.Body, err)
		}
		delivered[body.ID]++
	}
	for id := range published {
		if delivered[id] != 1 {
			t.Errorf("event %s delivered %d times, want 1", id, delivered[id])
		}
	}
	handedOff, claimed := r.handoff.handedOff.Load(), r.store.claimed.Load()
	t.Logf("%d deliveries handed off, %d claimed in %d claims; %d target reads", handedOff, claimed, r.store.claims.Load(), reads)
	if handedOff == 0 {
		t.Error("no publish handed off a delivery")
	}
	if handedOff+claimed != events+1 {
		t.Errorf("%d deliveries handed off and %d claimed, want %d leased in all, each once", handedOff, claimed, events+1)
	}
	if wh, err := r.store.Webhook(context.Background(), r.webhook.ID); err != nil || wh.QueueLength != 0 || wh.RetryQueueLength != 0 {
		t.Errorf("webhook after delivery: %+v, %v", wh, err)
	}
}

// A change of a webhook's headers or URL reaches the next delivery,
// though the previous ones left its target in the cache: the change moves
// the targets' version.
func TestHandoffFollowsTargetChanges(t *testing.T) {
	ctx := context.Background()
	before, after := newReceiver(t, nil), newReceiver(t, nil)
	r := newHandoffRig(t, before)
	deliveredTo := func(rc *receiver, n int) received {
		t.Helper()
		waitFor(t, 10*time.Second, "a delivery", func() bool { return len(rc.requests()) >= n })
		return rc.requests()[n-1]
	}

	for i := range 3 {
		r.publishOne(t)
		deliveredTo(before, i+1)
	}
	if got := before.requests()[2]; got.Header.Get("X-Added") != "" {
		t.Fatalf("header before it was added: %v", got.Header)
	}

	added := &hookd.Header{WebhookID: r.webhook.ID, Key: "X-Added", Value: "one"}
	if err := r.store.AddHeader(ctx, added); err != nil {
		t.Fatal(err)
	}
	moved := after.URL + "/moved"
	if _, err := r.store.UpdateWebhook(ctx, r.webhook.ID, hookd.WebhookUpdate{HTTPURL: &moved}); err != nil {
		t.Fatal(err)
	}
	r.publishOne(t)
	if got := deliveredTo(after, 1); got.Path != "/moved" || got.Header.Get("X-Added") != "one" {
		t.Errorf("after the change: path %s, X-Added %q", got.Path, got.Header.Get("X-Added"))
	}

	two := "two"
	if _, err := r.store.UpdateHeader(ctx, r.webhook.ID, added.ID, hookd.HeaderUpdate{Value: &two}); err != nil {
		t.Fatal(err)
	}
	r.publishOne(t)
	if got := deliveredTo(after, 2); got.Header.Get("X-Added") != "two" {
		t.Errorf("after the header's update: X-Added %q", got.Header.Get("X-Added"))
	}
	r.stop()
	if n := len(before.requests()); n != 3 {
		t.Errorf("the old URL got %d requests, want 3", n)
	}
}

// heldHandoff passes offers on, and keeps what the publish leased rather
// than handing it over: the test takes it when it chooses.
type heldHandoff struct {
	hookd.Handoff
	req     hookd.ClaimRequest
	claimed hookd.Claimed
	taken   bool
}

func (h *heldHandoff) Take(req hookd.ClaimRequest, claimed hookd.Claimed) {
	h.req, h.claimed, h.taken = req, claimed, true
}

// runUntilCancelled runs d in a goroutine and returns its cancel, and a
// channel closed once Run has returned (having reported an error).
func runUntilCancelled(t *testing.T, d *Dispatcher) (context.CancelFunc, <-chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := d.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	return cancel, done
}

// handoffStore is a SQLite store with a webhook of every ASSET_ADDED
// event to rc.
func handoffStore(t *testing.T, rc *receiver) (*sqlite.Store, *hookd.Webhook) {
	t.Helper()
	ctx := context.Background()
	st := sqlitetest.Open(t)
	wh := &hookd.Webhook{Name: "held", HTTPURL: rc.URL, HTTPMethod: http.MethodPost, TriggerEvents: []string{"ASSET_ADDED"}}
	if err := st.CreateWebhook(ctx, wh, ""); err != nil {
		t.Fatal(err)
	}
	return st, wh
}

// An offer made while Run runs is taken after its ctx ended: Run waits
// for it, attempts what the publish leased and records it before it
// returns; it refuses offers before Run and after.
func TestHandoffTakenAfterCancel(t *testing.T) {
	ctx := context.Background()
	rc := newReceiver(t, nil)
	st, wh := handoffStore(t, rc)
	d := newDispatcher(t, Config{Store: st, Sender: testSender(5 * time.Second), Concurrency: 4})
	if req, ok := d.Offer(1); ok {
		t.Errorf("Offer before Run: %+v", req)
	}
	cancel, done := runUntilCancelled(t, d)
	waitUntilOffering(t, d)

	held := &heldHandoff{Handoff: d}
	if _, err := st.PublishAndClaim(ctx, []*hookd.Event{{Event: "ASSET_ADDED", Data: json.RawMessage(`{}`)}}, held); err != nil {
		t.Fatal(err)
	}
	if held.taken && len(held.claimed.Deliveries) != 1 {
		d.Take(held.req, held.claimed)
	}
	if !held.taken || len(held.claimed.Deliveries) != 1 {
		t.Fatalf("the publish leased %+v (handed over: %v), want its delivery", held.claimed, held.taken)
	}
	cancel()
	select {
	case <-done:
		t.Fatal("Run returned before the offer it made was taken")
	default:
	}
	d.Take(held.req, held.claimed)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after the offer was taken")
	}

	if reqs := rc.requests(); len(reqs) != 1 || reqs[0].Header.Get("webhook-id") != held.claimed.Deliveries[0].MessageID {
		t.Errorf("receiver got %d requests, want the leased delivery's", len(reqs))
	}
	if log, err := st.Log(ctx, wh.ID, true, 1, 50); err != nil || len(log) != 1 {
		t.Errorf("success log after Run: %+v, %v", log, err)
	}
	if req, ok := d.Offer(1); ok {
		t.Errorf("Offer after Run returned: %+v", req)
	}
}

// Once Run's ctx has ended, offers are refused even while Run waits for
// one made before to be taken: a publish that leased then would hold Run
// up in turn.
func TestHandoffRefusedWhileStopping(t *testing.T) {
	rc := newReceiver(t, nil)
	st, _ := handoffStore(t, rc)
	d := newDispatcher(t, Config{Store: st, Sender: testSender(5 * time.Second), Concurrency: 4})
	cancel, done := runUntilCancelled(t, d)
	waitUntilOffering(t, d)

	first, ok := d.Offer(1)
	if !ok {
		t.Fatal("Offer refused while Run runs with idle workers")
	}
	cancel()
	if req, ok := d.Offer(1); ok {
		t.Errorf("Offer after Run's ctx ended: ok, %+v", req)
		d.Take(req, hookd.Claimed{})
	}
	d.Take(first, hookd.Claimed{})
	<-done
}

// While the claimer is behind (its last claim took as many deliveries as
// it had workers for), publishes hand nothing off: the workers that free
// up go to the deliveries due already, in the order claims serve them.
func TestHandoffRefusedWhileClaimsAreBehind(t *testing.T) {
	rc := newReceiver(t, nil)
	st, _ := handoffStore(t, rc)
	// Claims wait for a wake-up that does not come, so that none sets
	// behind meanwhile.
	d := newDispatcher(t, Config{Store: st, Sender: testSender(5 * time.Second), Concurrency: 4, PollInterval: time.Hour})
	cancel, done := runUntilCancelled(t, d)
	defer func() { cancel(); <-done }()
	waitUntilOffering(t, d)

	d.claimer.behind.Store(true)
	if req, ok := d.Offer(1); ok {
		t.Errorf("Offer while claims are behind: ok, %+v", req)
		d.Take(req, hookd.Claimed{})
	}
	d.claimer.behind.Store(false)
	req, ok := d.Offer(1)
	if !ok {
		t.Fatal("Offer refused once claims caught up")
	}
	d.Take(req, hookd.Claimed{})
}

// Reservations from many goroutines at once never hold more slots than
// there are, and all of them are back once released.
func TestWorkersReserveConcurrently(t *testing.T) {
	const size, goroutines, rounds = 8, 32, 200
	w := newWorkers(size)
	var holding, most atomic.Int64
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range rounds {
				k := w.reserve(1 + (g+i)%3)
				if k == 0 {
					continue
				}
				n := holding.Add(int64(k))
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				holding.Add(-int64(k))
				w.release(k)
			}
		})
	}
	wg.Wait()
	if most.Load() > size || w.idle() != size {
		t.Fatalf("held at most %d slots of %d; %d idle after all were released", most.Load(), size, w.idle())
	}

	// Reservations that ask for more than there is share exactly what there
	// is.
	var got atomic.Int64
	for range goroutines {
		wg.Go(func() { got.Add(int64(w.reserve(3))) })
	}
	wg.Wait()
	if got.Load() != size || w.idle() != 0 || w.reserve(1) != 0 {
		t.Fatalf("reserved %d of %d slots, %d idle", got.Load(), size, w.idle())
	}
}

// Attempts started from several goroutines in reserved slots run at once
// in at most size goroutines; a release and an ended attempt each free a
// slot.
func TestWorkersStartInReservedSlots(t *testing.T) {
	const size = 4
	w := newWorkers(size)
	for round := range 3 {
		if n := w.reserve(size + 1); n != size {
			t.Fatalf("round %d: reserved %d slots, want %d", round, n, size)
		}
		if w.reserve(1) != 0 || w.idle() != 0 {
			t.Fatalf("round %d: a slot beyond the reserved ones (%d idle)", round, w.idle())
		}
		// One reservation starts nothing: releasing it frees its slot.
		w.release(1)
		if w.idle() != 1 {
			t.Fatalf("round %d: %d idle after a release, want 1", round, w.idle())
		}
		finish := make(chan struct{})
		var running sync.WaitGroup
		var starters sync.WaitGroup
		for range size - 1 {
			running.Add(1)
			starters.Go(func() {
				w.start(func() {
					running.Done()
					<-finish
				})
			})
		}
		starters.Wait()
		running.Wait() // all of them at once
		if w.running() != size-1 || w.idle() != 1 {
			t.Fatalf("round %d: %d running, %d idle; want %d, 1", round, w.running(), w.idle(), size-1)
		}
		close(finish)
		for w.idle() < size {
			<-w.freed
		}
		if w.running() != 0 {
			t.Fatalf("round %d: %d attempts running once every slot is free", round, w.running())
		}
	}
	<-w.ended()
	if w.started > size {
		t.Errorf("%d worker goroutines for %d slots", w.started, size)
	}
}
