package storetest

import (
	"encoding/json"
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
	t.Run("ClearPayloads", func(t *testing.T) { testClearPayloads(t, open, traces) })
}

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
