package storetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/clocktest"
)

// Traces lists the places ("table.column") of every text column of every
// table of s's database that holds needle: the proof of erasure, which the
// Store interface cannot give.
type Traces = func(t *testing.T, s hookd.Store, needle string) []string

// RunHistory runs the contract of payload retention and erasure
// (Store.ClearPayloads, Store.Erase), with traces to look for what they
// must have cleared in every table.
func RunHistory(t *testing.T, openStore Open, traces Traces) {
	open := func(t *testing.T) *testStore {
		clock := clocktest.New(start)
		return &testStore{Store: openStore(t, clock), clock: clock, ctx: t.Context()}
	}
	t.Run("Erase", func(t *testing.T) { testErase(t, open, traces) })
	t.Run("EraseProjectAndUser", func(t *testing.T) { testEraseProjectAndUser(t, open, traces) })
	t.Run("EraseInChunks", func(t *testing.T) { testEraseInChunks(t, open, traces) })
	t.Run("EraseBeyondOneChunk", func(t *testing.T) { testEraseBeyondOneChunk(t, open, traces) })
	t.Run("ClearPayloads", func(t *testing.T) { testClearPayloads(t, open, traces) })
	t.Run("ClearPayloadsOnceDone", func(t *testing.T) { testClearPayloadsOnceDone(t, open, traces) })
	t.Run("ClearPayloadsPastStillNeeded", func(t *testing.T) { testClearPayloadsPastStillNeeded(t, open) })
}

// EraseChunk is the chunk (events plus their deliveries) that a store
// which can is set to for RunHistory, in place of hookd.EraseChunk (the
// SQLite store's tests do): small, so that EraseInChunks's few events span
// several chunks. EraseBeyondOneChunk spans several of hookd.EraseChunk.
const EraseChunk = 7

// secretEvent is an event whose data holds secret.
func secretEvent(id, secret string, project *string, user *int64) *hookd.Event {
	e := newEvent(assetAdded, project, user)
	e.ID, e.Data = id, json.RawMessage(`{"note": "`+secret+`"}`)
	return e
}

// echo is a result whose response body repeats secret, as a receiver that
// echoes what it got would.
func echo(d *hookd.Delivery, when time.Time, secret string) hookd.AttemptResult {
	r := retry(d, when, when.Add(time.Hour))
	r.ResponseBody = "got " + secret
	return r
}

// storedData reads event id's stored data back: a repeat of its id is
// answered with the original.
func storedData(t *testing.T, s hookd.Store, id string) string {
	t.Helper()
	res := publish(t, s, &hookd.Event{ID: id, Event: userAdded})
	if !res[0].Duplicate {
		t.Fatalf("event %s is no longer stored", id)
	}
	return string(res[0].Event.Data)
}

func noTrace(t *testing.T, s *testStore, traces Traces, secret string) {
	t.Helper()
	if at := traces(t, s.Store, secret); len(at) > 0 {
		t.Errorf("%q is still in %v", secret, at)
	}
}

func testErase(t *testing.T, open opener, traces Traces) {
	s := open(t)
	w := createWebhook(t, s, newWebhook("w", assetAdded))
	now := s.clock.Now()
	publish(t, s, secretEvent("erased", "SECRET-ONE", nil, nil), secretEvent("kept", "KEPT-ONE", nil, nil))
	byEvent := map[string]*hookd.Delivery{}
	for _, d := range claimAll(t, s, now) {
		byEvent[d.Event.ID] = d
	}
	// Both were tried once, echoed back, and wait for a retry.
	complete(t, s, echo(byEvent["erased"], now, "SECRET-ONE"), echo(byEvent["kept"], now, "KEPT-ONE"))
	// The retry of the erased one is in flight when the erasure comes.
	s.clock.Set(now.Add(time.Hour))
	inFlight := claimAll(t, s, s.clock.Now())
	equal(t, "deliveries in flight", len(inFlight), 2)

	erased, err := s.Erase(ctx(t), hookd.Erasure{EventID: "erased"})
	must(t, err, "Erase")
	deepEqual(t, "erased", erased, hookd.Erased{Events: 1, Cancelled: 1, Attempts: 1})
	noTrace(t, s, traces, "SECRET-ONE")
	if at := traces(t, s.Store, "KEPT-ONE"); len(at) == 0 {
		t.Error("the event not erased lost its data")
	}
	equal(t, "erased data", storedData(t, s, "erased"), string(hookd.ErasedData))

	// The in-flight attempt's result comes back: dropped, the delivery
	// is no longer pending.
	for _, d := range inFlight {
		complete(t, s, result(d, s.clock.Now(), false, 500))
	}
	var cancelled, erasedFailures int
	for _, e := range logOf(t, s, w.ID, false) {
		if e.EventID != "erased" {
			continue
		}
		erasedFailures++
		if e.ErrorClass == hookd.ErasedErrorClass {
			cancelled++
			equal(t, "cancellation's error", e.Error, hookd.ErasedError)
		}
	}
	equal(t, "cancellations logged", cancelled, 1)
	equal(t, "failures logged for the erased event", erasedFailures, 2)

	// A requeue does not send the erased event again.
	n, err := s.requeueAt(s.clock.Now(), w.ID, now, s.clock.Now().Add(time.Hour))
	must(t, err, "Requeue")
	equal(t, "requeued", n, 1) // the kept event's delivery, failed by its 500
	for _, d := range claimAll(t, s, s.clock.Now()) {
		if d.Event.ID == "erased" {
			t.Error("the erased event's delivery was claimed again")
		}
	}

	_, err = s.Erase(ctx(t), hookd.Erasure{EventID: "unknown"})
	mustErr(t, err, hookd.ErrNotFound, "Erase of an unknown event")
}

func testEraseProjectAndUser(t *testing.T, open opener, traces Traces) {
	s := open(t)
	createProject(t, s, "gone")
	createProject(t, s, "stays")
	createWebhook(t, s, newWebhook("w", assetAdded))
	publish(t, s,
		secretEvent("p1", "SECRET-PROJECT", ptr("gone"), nil),
		secretEvent("p2", "SECRET-PROJECT", ptr("gone"), ptr(int64(5))),
		secretEvent("p3", "KEPT-PROJECT", ptr("stays"), nil),
		secretEvent("u1", "SECRET-USER", nil, ptr(int64(42))),
		secretEvent("u2", "SECRET-USER", ptr("stays"), ptr(int64(42))),
	)
	erased, err := s.Erase(ctx(t), hookd.Erasure{ProjectID: "gone"})
	must(t, err, "Erase project")
	deepEqual(t, "project erased", erased, hookd.Erased{Events: 2, Cancelled: 2})
	noTrace(t, s, traces, "SECRET-PROJECT")

	erased, err = s.Erase(ctx(t), hookd.Erasure{UserID: ptr(int64(42))})
	must(t, err, "Erase user")
	deepEqual(t, "user erased", erased, hookd.Erased{Events: 2, Cancelled: 2})
	noTrace(t, s, traces, "SECRET-USER")
	if at := traces(t, s.Store, "KEPT-PROJECT"); len(at) == 0 {
		t.Error("another project's event lost its data")
	}
	// Only the kept event's delivery is left to send.
	ds := claimAll(t, s, s.clock.Now())
	equal(t, "deliveries left", len(ds), 1)
	equal(t, "delivery left", ds[0].Event.ID, "p3")

	// A project or user without events erases nothing, without error.
	erased, err = s.Erase(ctx(t), hookd.Erasure{ProjectID: "nobody"})
	must(t, err, "Erase of a project without events")
	deepEqual(t, "nothing erased", erased, hookd.Erased{})
}

// testEraseInChunks erases a project and a user whose events span several
// chunks (EraseChunk) of a store that erases them in several transactions:
// every one of them is erased, whatever the chunks' boundaries (the events
// share one creation time), the totals are the sum of the chunks', the lane
// whose head goes passes its head on from chunk to chunk, and other
// projects' events are untouched.
func testEraseInChunks(t *testing.T, open opener, traces Traces) {
	s := open(t)
	createProject(t, s, "gone")
	createProject(t, s, "stays")
	createWebhook(t, s, newWebhook("w", assetAdded))
	ordered := createWebhook(t, s, newWebhook("ordered", assetAdded))
	must(t, s.UpdateSettings(ctx(t), ordered.ID, hookd.WebhookSettings{Ordering: hookd.OrderWebhook}.Update()), "UpdateSettings ordering")
	now := s.clock.Now()

	// The ordered webhook's lane: the project's first events, then one of
	// the other project's, then the rest of each. Its head, the project's
	// first, is cancelled by the first chunk: each following chunk cancels
	// the head the one before unblocked, until the other project's.
	n := 3*EraseChunk + 1
	var events []*hookd.Event
	for i := range n {
		if i == n/2 {
			events = append(events, secretEvent("stays-0", "KEPT-CHUNKED", ptr("stays"), nil))
		}
		events = append(events, secretEvent(fmt.Sprintf("gone-%d", i), "SECRET-CHUNKED", ptr("gone"), nil))
	}
	events = append(events, secretEvent("stays-1", "KEPT-CHUNKED", ptr("stays"), nil))
	publish(t, s, events...)
	var users []*hookd.Event
	for i := range n {
		users = append(users, secretEvent(fmt.Sprintf("user-%d", i), "SECRET-USER-CHUNKED", nil, ptr(int64(9))))
	}
	publish(t, s, users...)

	// Every delivery due is tried once, its body echoed back: w's succeed
	// (a circuit opened by their failures would hold the rest back), the
	// lane's head waits for a retry.
	var echoed []hookd.AttemptResult
	goneEchoed := 0
	for _, d := range claimAll(t, s, now) {
		secret := "KEPT-CHUNKED"
		switch {
		case strings.HasPrefix(d.Event.ID, "gone-"):
			secret = "SECRET-CHUNKED"
			goneEchoed++
		case strings.HasPrefix(d.Event.ID, "user-"):
			secret = "SECRET-USER-CHUNKED"
		}
		r := echo(d, now, secret)
		if d.WebhookID != ordered.ID {
			r = result(d, now, true, 200)
			r.ResponseBody = "got " + secret
		}
		echoed = append(echoed, r)
	}
	equal(t, "deliveries tried", len(echoed), 2*n+2+1)
	complete(t, s, echoed...)

	erased, err := s.Erase(ctx(t), hookd.Erasure{ProjectID: "gone"})
	must(t, err, "Erase project")
	// Each event's delivery to the ordered webhook was pending; w's were
	// echoed, and the lane's head.
	deepEqual(t, "project erased", erased, hookd.Erased{Events: n, Cancelled: n, Attempts: goneEchoed})
	equal(t, "echoed attempts of the project", goneEchoed, n+1)
	noTrace(t, s, traces, "SECRET-CHUNKED")
	for i := range n {
		equal(t, fmt.Sprintf("gone-%d's data", i), storedData(t, s, fmt.Sprintf("gone-%d", i)), string(hookd.ErasedData))
	}
	sameJSON(t, "stays-0's data", json.RawMessage(storedData(t, s, "stays-0")), json.RawMessage(`{"note": "KEPT-CHUNKED"}`))

	erased, err = s.Erase(ctx(t), hookd.Erasure{UserID: ptr(int64(9))})
	must(t, err, "Erase user")
	deepEqual(t, "user erased", erased, hookd.Erased{Events: n, Cancelled: n, Attempts: n})
	noTrace(t, s, traces, "SECRET-USER-CHUNKED")
	if at := traces(t, s.Store, "KEPT-CHUNKED"); len(at) == 0 {
		t.Error("another project's events lost their data")
	}

	// Erasing again is safe: nothing is left to cancel or clear.
	erased, err = s.Erase(ctx(t), hookd.Erasure{ProjectID: "gone"})
	must(t, err, "Erase project again")
	equal(t, "cancelled again", erased.Cancelled, 0)
	equal(t, "cleared again", erased.Attempts, 0)

	// Left to send: the lane's new head, the other project's first event,
	// unblocked; the rest of the lane waits behind it.
	var left []string
	for _, d := range claimAll(t, s, now.Add(2*time.Hour)) {
		left = append(left, fmt.Sprintf("%s to %s", d.Event.ID, map[bool]string{true: "ordered", false: "w"}[d.WebhookID == ordered.ID]))
	}
	slices.Sort(left)
	deepEqual(t, "deliveries left", left, []string{"stays-0 to ordered"})
}

func testClearPayloads(t *testing.T, open opener, traces Traces) {
	s := open(t)
	w := createWebhook(t, s, newWebhook("w", assetAdded))
	now := s.clock.Now()
	old := now.Add(-48 * time.Hour)
	ev := func(id, secret string, created time.Time) *hookd.Event {
		e := secretEvent(id, secret, nil, nil)
		e.CreatedAt = created
		return e
	}
	publish(t, s, ev("old-done", "OLD-PAYLOAD", old), ev("old-pending", "STILL-NEEDED", old), ev("new", "NEW-PAYLOAD", now),
		ev("old-failed", "OLD-FAILED", old))
	byEvent := map[string]*hookd.Delivery{}
	for _, d := range claimAll(t, s, now) {
		byEvent[d.Event.ID] = d
	}
	done := result(byEvent["old-done"], old.Add(time.Minute), true, 200)
	done.ResponseBody = "got OLD-PAYLOAD"
	recent := result(byEvent["new"], now, true, 200)
	recent.ResponseBody = "got NEW-PAYLOAD"
	complete(t, s, done, recent, echo(byEvent["old-pending"], old.Add(time.Minute), "OLD-BODY"),
		result(byEvent["old-failed"], old.Add(time.Minute), false, 500))

	n, err := s.ClearPayloads(ctx(t), now.Add(-24*time.Hour))
	must(t, err, "ClearPayloads")
	// old-done's and old-failed's data and the three old response bodies.
	equal(t, "payloads cleared", n, int64(5))
	noTrace(t, s, traces, "OLD-PAYLOAD")
	noTrace(t, s, traces, "OLD-FAILED")

	// Contract: a requeue leaves out the delivery whose event's data is
	// gone, as a replay does: it would go out with {} as its data.
	n2, err := s.requeueAt(now, w.ID, old, now)
	must(t, err, "Requeue")
	equal(t, "requeued after the data was cleared", n2, 0)
	noTrace(t, s, traces, "OLD-BODY")
	equal(t, "cleared data", storedData(t, s, "old-done"), string(hookd.ErasedData))
	// The metadata stays: the log keeps its entries.
	equal(t, "success log", len(logOf(t, s, w.ID, true)), 2)
	equal(t, "failed log", len(logOf(t, s, w.ID, false)), 2)
	// A pending delivery still needs its event's data; recent ones stay.
	for _, keep := range []string{"STILL-NEEDED", "NEW-PAYLOAD"} {
		if at := traces(t, s.Store, keep); len(at) == 0 {
			t.Errorf("%s was cleared", keep)
		}
	}
	ds := claimAll(t, s, now.Add(2*time.Hour))
	equal(t, "deliveries left", len(ds), 1)
	sameJSON(t, "pending event's data", ds[0].Event.Data, json.RawMessage(`{"note": "STILL-NEEDED"}`))

	// The next round starts where this one ended.
	n, err = s.ClearPayloads(ctx(t), now.Add(-24*time.Hour))
	must(t, err, "ClearPayloads again")
	equal(t, "cleared again", n, int64(0))
}

// testClearPayloadsPastStillNeeded: the events that ClearPayloads kept
// while their deliveries were pending are cleared once done, also behind
// more than hookd.PruneChunk events kept before them (by id) that are
// still needed: a call reads those a chunk at a time and goes on past
// them.
func testClearPayloadsPastStillNeeded(t *testing.T, open opener) {
	s := open(t)
	createWebhook(t, s, newWebhook("w", assetAdded))
	now := s.clock.Now()
	var events []*hookd.Event
	for i := range hookd.PruneChunk + 1 {
		events = append(events, secretEvent(fmt.Sprintf("needed-%04d", i), "STILL-NEEDED", nil, nil))
	}
	for _, id := range []string{"ready-0", "ready-1"} { // after every needed-: cleared last
		events = append(events, secretEvent(id, "READY", nil, nil))
	}
	for _, e := range events {
		e.CreatedAt = now.Add(-48 * time.Hour)
	}
	publish(t, s, events...)
	n, err := s.ClearPayloads(ctx(t), now.Add(-24*time.Hour))
	must(t, err, "ClearPayloads while every delivery is pending")
	equal(t, "cleared while pending", n, int64(0))

	var ready []hookd.AttemptResult
	for _, d := range claimAll(t, s, now) {
		if strings.HasPrefix(d.Event.ID, "ready-") {
			ready = append(ready, result(d, now, true, 200))
		}
	}
	equal(t, "ready deliveries", len(ready), 2)
	complete(t, s, ready...)
	n, err = s.ClearPayloads(ctx(t), now.Add(-24*time.Hour))
	must(t, err, "ClearPayloads once the last ones are done")
	equal(t, "cleared once done", n, int64(2))
	for _, id := range []string{"ready-0", "ready-1"} {
		equal(t, id+"'s data", storedData(t, s, id), string(hookd.ErasedData))
	}
	for _, id := range []string{"needed-0000", fmt.Sprintf("needed-%04d", hookd.PruneChunk)} {
		sameJSON(t, id+"'s data", json.RawMessage(storedData(t, s, id)), json.RawMessage(`{"note": "STILL-NEEDED"}`))
	}
}
