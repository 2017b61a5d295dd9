package sqlite_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/clocktest"
	"github.com/hookd/hookd/internal/sqlite"
	"github.com/hookd/hookd/internal/storeopt"
	"github.com/hookd/hookd/internal/storetest"
)

// The contract lets a store offer nothing (storetest's PublishAndClaim):
// these tests hold SQLite to leasing what hookd.PlanHandoff gives.

// handoffStart is where the clock of a handoffStore stands.
var handoffStart = time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)

// handoffStore opens a store with a webhook of "ASSET_ADDED" for each of
// names, and returns their ids.
func handoffStore(t *testing.T, names ...string) (*sqlite.Store, []int64) {
	t.Helper()
	s := openTemp(t, storeopt.WithClock(clocktest.New(handoffStart)))
	var ids []int64
	for _, name := range names {
		w := &hookd.Webhook{Name: name, HTTPURL: "https://receiver.example/" + name, HTTPMethod: "POST",
			TriggerEvents: []string{"ASSET_ADDED"}}
		if err := s.CreateWebhook(t.Context(), w, ""); err != nil {
			t.Fatalf("CreateWebhook: %v", err)
		}
		ids = append(ids, w.ID)
	}
	return s, ids
}

// publishThrough publishes n events through h and checks the handoff's
// calls (storetest.RecordingHandoff.CheckTakes).
func publishThrough(t *testing.T, s *sqlite.Store, h *storetest.RecordingHandoff, n int) {
	t.Helper()
	events := make([]*hookd.Event, n)
	for i := range events {
		events[i] = &hookd.Event{Event: "ASSET_ADDED", Data: json.RawMessage(`{}`)}
	}
	if _, err := s.PublishAndClaim(t.Context(), events, h); err != nil {
		t.Fatalf("PublishAndClaim: %v", err)
	}
	h.CheckTakes(t)
}

// claim claims every delivery due now.
func claim(t *testing.T, s *sqlite.Store) []*hookd.Delivery {
	t.Helper()
	ds, err := storetest.Deliveries(s.Claim(t.Context(), hookd.ClaimRequest{Worker: "test", Limit: 100, Lease: time.Minute,
		Workers: storetest.Workers}))
	if err != nil {
		t.Fatalf("Claim: %v", err)
	}
	return ds
}

func TestHandoffLeasesFreshDeliveries(t *testing.T) {
	s, _ := handoffStore(t, "w")
	h := &storetest.RecordingHandoff{}
	publishThrough(t, s, h, 3)
	if len(h.Offers) != 1 || h.Offers[0] != 3 {
		t.Fatalf("offers %v, want [3]", h.Offers)
	}
	if got := len(h.Leased()); got != 3 {
		t.Errorf("leased %d deliveries, want 3", got)
	}
	if got := len(claim(t, s)); got != 0 {
		t.Errorf("claimed %d deliveries the publish leased", got)
	}
}

func TestHandoffKeepsMaxInFlight(t *testing.T) {
	s, ids := handoffStore(t, "w")
	if err := s.UpdateSettings(t.Context(), ids[0], hookd.WebhookSettings{MaxInFlight: 1}.Update()); err != nil {
		t.Fatalf("UpdateSettings: %v", err)
	}
	h := &storetest.RecordingHandoff{}
	publishThrough(t, s, h, 3)
	leased := h.Leased()
	if len(h.Offers) != 1 || h.Offers[0] != 3 || len(leased) != 1 {
		t.Fatalf("offers %v, leased %d; want [3], 1", h.Offers, len(leased))
	}
	// The other two are claimed, one at a time, as the one before ends.
	ended := leased[0]
	worker := h.Takes[0].Request.Worker
	for i := range 2 {
		err := s.Complete(t.Context(), []hookd.AttemptResult{{DeliveryID: ended.ID, WebhookID: ended.WebhookID, Worker: worker,
			Attempt: 1, At: handoffStart, Success: true, HTTPStatus: 200}})
		if err != nil {
			t.Fatalf("Complete: %v", err)
		}
		ds := claim(t, s)
		if len(ds) != 1 || ds[0].ID == ended.ID {
			t.Fatalf("claim %d after an attempt ended: %d deliveries, want another one", i, len(ds))
		}
		ended, worker = ds[0], "test"
	}
}

func TestHandoffOffersTheSumOfWebhooks(t *testing.T) {
	s, ids := handoffStore(t, "a", "b")
	h := &storetest.RecordingHandoff{}
	publishThrough(t, s, h, 2)
	if len(h.Offers) != 1 || h.Offers[0] != 4 {
		t.Fatalf("offers %v, want [4]", h.Offers)
	}
	per := map[int64]int{}
	for _, d := range h.Leased() {
		per[d.WebhookID]++
	}
	if per[ids[0]] != 2 || per[ids[1]] != 2 || len(per) != 2 {
		t.Errorf("leased by webhook %v, want 2 of each of %v", per, ids)
	}
}
