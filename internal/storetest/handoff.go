package storetest

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

// RecordingHandoff is a hookd.Handoff that records what a publish offers
// it and hands it over. It answers each offer with a request of its own
// (a worker name per offer, the suite's lease and Workers). It is not for
// concurrent publishes.
type RecordingHandoff struct {
	// Limit, when above 0, caps the Limit of each request; Refuse refuses
	// every offer.
	Limit  int
	Refuse bool

	// Offers are the n of each Offer call; Requests the requests answered
	// to those not refused, in order; Takes each Take call.
	Offers   []int
	Requests []hookd.ClaimRequest
	Takes    []HandoffTake
}

// HandoffTake is a call of RecordingHandoff.Take.
type HandoffTake struct {
	Request hookd.ClaimRequest
	Claimed hookd.Claimed
}

var _ hookd.Handoff = (*RecordingHandoff)(nil)

// Offer records n and answers a request for up to n deliveries (Limit),
// unless Refuse.
func (h *RecordingHandoff) Offer(n int) (hookd.ClaimRequest, bool) {
	h.Offers = append(h.Offers, n)
	if h.Refuse {
		return hookd.ClaimRequest{}, false
	}
	limit := n
	if h.Limit > 0 {
		limit = min(n, h.Limit)
	}
	req := hookd.ClaimRequest{Worker: fmt.Sprintf("handoff-%d", len(h.Offers)), Limit: limit, Lease: lease, Workers: Workers}
	h.Requests = append(h.Requests, req)
	return req, true
}

// Take records what a publish leased under req.
func (h *RecordingHandoff) Take(req hookd.ClaimRequest, claimed hookd.Claimed) {
	h.Takes = append(h.Takes, HandoffTake{Request: req, Claimed: claimed})
}

// Leased returns the deliveries of every Take, in order.
func (h *RecordingHandoff) Leased() []*hookd.Delivery {
	var out []*hookd.Delivery
	for _, take := range h.Takes {
		out = append(out, take.Claimed.Deliveries...)
	}
	return out
}

// CheckTakes checks what holds of any publish through h, whatever the
// store offered: at most one offer, each offer answered followed by
// exactly one Take of its request, which hands over no more than the
// request's Limit, by id.
func (h *RecordingHandoff) CheckTakes(t *testing.T) {
	t.Helper()
	if len(h.Offers) > 1 {
		t.Errorf("one publish offered %d times: %v", len(h.Offers), h.Offers)
	}
	if len(h.Takes) != len(h.Requests) {
		t.Fatalf("%d Take calls for %d offers answered", len(h.Takes), len(h.Requests))
	}
	for i, take := range h.Takes {
		deepEqual(t, fmt.Sprintf("Take %d request", i), take.Request, h.Requests[i])
		ds := take.Claimed.Deliveries
		if len(ds) > take.Request.Limit {
			t.Errorf("Take %d: %d deliveries under a request for %d", i, len(ds), take.Request.Limit)
		}
		if !slices.IsSortedFunc(ds, func(a, b *hookd.Delivery) int { return cmp.Compare(a.ID, b.ID) }) {
			t.Errorf("Take %d: deliveries %v, want them by id", i, ids(ds, func(d *hookd.Delivery) int64 { return d.ID }))
		}
	}
}

// publishAndClaim publishes events through h, and checks what holds for
// any store (RecordingHandoff.CheckTakes).
func publishAndClaim(t *testing.T, s hookd.Store, h *RecordingHandoff, events ...*hookd.Event) []hookd.Published {
	t.Helper()
	res, err := s.PublishAndClaim(ctx(t), events, h)
	must(t, err, "PublishAndClaim")
	if len(res) != len(events) {
		t.Fatalf("PublishAndClaim returned %d results for %d events", len(res), len(events))
	}
	h.CheckTakes(t)
	return res
}

// inFlight is a delivery leased to worker.
type inFlight struct {
	d      *hookd.Delivery
	worker string
}

// handedOver is what h's takes leased, each under its request's worker.
func handedOver(h *RecordingHandoff) []inFlight {
	var out []inFlight
	for _, take := range h.Takes {
		for _, d := range take.Claimed.Deliveries {
			out = append(out, inFlight{d, take.Request.Worker})
		}
	}
	return out
}

// claimedBySuite is what claimAll leased (to worker "suite").
func claimedBySuite(ds []*hookd.Delivery) []inFlight {
	out := make([]inFlight, len(ds))
	for i, d := range ds {
		out[i] = inFlight{d, "suite"}
	}
	return out
}

// drain settles the deliveries in flight, each with a success from the
// worker that holds its lease, then claims and settles at now whatever
// comes due until nothing does, and checks that each event of want was
// delivered once, and that nothing of hooks is left queued.
func drain(t *testing.T, s *testStore, now time.Time, want []string, flying []inFlight, hooks ...*hookd.Webhook) {
	t.Helper()
	seen := map[string]int{}
	for len(flying) > 0 {
		for _, f := range flying {
			seen[f.d.Event.ID]++
			r := result(f.d, now, true, 200)
			r.Worker = f.worker
			complete(t, s, r)
		}
		flying = claimedBySuite(claimAll(t, s, now))
	}
	wantSeen := map[string]int{}
	for _, id := range want {
		wantSeen[id]++
	}
	deepEqual(t, "deliveries by event", seen, wantSeen)
	for _, w := range hooks {
		figures(t, s, w.ID, 0, 0)
	}
}

func eventIDs(res []hookd.Published) []string {
	out := make([]string, len(res))
	for i, r := range res {
		out[i] = r.Event.ID
	}
	return out
}

func newEvents(name string, n int) []*hookd.Event {
	out := make([]*hookd.Event, n)
	for i := range out {
		out[i] = newEvent(name, nil, nil)
	}
	return out
}

// testPublishAndClaim checks Store.PublishAndClaim. A store may offer
// nothing (PostgreSQL does not): each case checks what holds for any store
// and, when the store offered, that it offered and leased what
// hookd.HandoffCandidates and hookd.PlanHandoff rule.
func testPublishAndClaim(t *testing.T, open opener) {
	t.Run("leases fresh deliveries to the offer", func(t *testing.T) {
		s := open(t)
		w := createWebhook(t, s, newWebhook("w", assetAdded))
		// A version of the targets that is not where stores start.
		must(t, s.AddHeader(ctx(t), &hookd.Header{WebhookID: w.ID, Key: "X-Version", Value: "1"}), "AddHeader")
		now := s.clock.Now()
		h := &RecordingHandoff{}
		res := publishAndClaim(t, s, h, newEvents(assetAdded, 3)...)
		published := map[string]hookd.Event{}
		for i, r := range res {
			equal(t, fmt.Sprintf("event %d Deliveries", i), r.Deliveries, 1)
			published[r.Event.ID] = r.Event
		}

		leased := h.Leased()
		if len(h.Offers) > 0 {
			deepEqual(t, "offers", h.Offers, []int{3})
			equal(t, "leased at an offer of 3", len(leased), 3)
		}
		messages := map[string]bool{}
		for _, d := range leased {
			p := fmt.Sprintf("leased delivery %d", d.ID)
			equal(t, p+" WebhookID", d.WebhookID, w.ID)
			equal(t, p+" Attempts", d.Attempts, 0)
			equal(t, p+" Ordered", d.Ordered, false)
			sameTime(t, p+" CreatedAt", d.CreatedAt, now)
			e, ok := published[d.Event.ID]
			if !ok {
				t.Fatalf("%s carries event %q, which was not published", p, d.Event.ID)
			}
			checkEvent(t, p+" event", d.Event, e)
			if !strings.HasPrefix(d.MessageID, "msg_") || messages[d.MessageID] {
				t.Errorf("%s MessageID = %q, want a new msg_ id", p, d.MessageID)
			}
			messages[d.MessageID] = true
			// It is stored as the handoff tells, and in flight.
			rec, _, err := s.Delivery(ctx(t), w.ID, d.ID)
			must(t, err, p+": Delivery")
			equal(t, p+" stored MessageID", rec.MessageID, d.MessageID)
			equal(t, p+" stored EventID", rec.EventID, d.Event.ID)
			equal(t, p+" stored State", rec.State, hookd.StatePending)
			nextAttemptIs(t, s, w.ID, d.ID, p, nil)
		}

		// A claim takes what the publish did not lease, and none of what
		// it did, until the leases end.
		claimed := claimAll(t, s, now)
		equal(t, "claimed and leased", len(claimed)+len(leased), 3)
		for _, d := range claimed {
			if slices.ContainsFunc(leased, func(l *hookd.Delivery) bool { return l.ID == d.ID }) {
				t.Errorf("claimed delivery %d, leased by the publish", d.ID)
			}
		}
		equal(t, "claimed before the leases end", len(claimAll(t, s, now.Add(lease-time.Millisecond))), 0)
		drain(t, s, now, eventIDs(res), append(handedOver(h), claimedBySuite(claimed)...), w)

		// The handoff saw the targets' version a claim sees.
		if len(leased) > 0 {
			must(t, s.PublishTo(ctx(t), w.ID, newEvent(assetAdded, nil, nil)), "PublishTo")
			c, err := s.Claim(ctx(t), hookd.ClaimRequest{Worker: "suite", Limit: 10, Lease: lease, Workers: Workers})
			must(t, err, "Claim")
			equal(t, "deliveries claimed", len(c.Deliveries), 1)
			equal(t, "handoff's TargetsVersion", h.Takes[0].Claimed.TargetsVersion, c.TargetsVersion)
		}
	})

	t.Run("a request's limit caps the lease", func(t *testing.T) {
		s := open(t)
		w := createWebhook(t, s, newWebhook("w", assetAdded))
		now := s.clock.Now()
		h := &RecordingHandoff{Limit: 2}
		res := publishAndClaim(t, s, h, newEvents(assetAdded, 3)...)
		if len(h.Offers) > 0 {
			deepEqual(t, "offers", h.Offers, []int{3})
			equal(t, "leased under a limit of 2", len(h.Leased()), 2)
		}
		claimed := claimAll(t, s, now)
		equal(t, "claimed and leased", len(claimed)+len(h.Leased()), 3)
		drain(t, s, now, eventIDs(res), append(handedOver(h), claimedBySuite(claimed)...), w)
	})

	t.Run("deliveries due already go first", func(t *testing.T) {
		s := open(t)
		busy := createWebhook(t, s, newWebhook("busy", assetAdded))
		fresh := createWebhook(t, s, newWebhook("fresh", assetRemoved))
		first := publish(t, s, newEvent(assetAdded, nil, nil))
		now := s.clock.Advance(time.Second)

		// A publish that reaches only a webhook with a delivery due leases
		// nothing (it may offer its fresh deliveries before it reads that).
		h := &RecordingHandoff{}
		later := publishAndClaim(t, s, h, newEvents(assetAdded, 2)...)
		equal(t, "leased of a webhook with a delivery due", len(h.Leased()), 0)
		// One that reaches it and another leases the other's.
		mixed := &RecordingHandoff{}
		both := publishAndClaim(t, s, mixed, newEvent(assetAdded, nil, nil), newEvent(assetRemoved, nil, nil), newEvent(assetRemoved, nil, nil))
		if len(mixed.Offers) > 0 {
			deepEqual(t, "offers for a webhook with a delivery due and a fresh one", mixed.Offers, []int{3})
			leased := mixed.Leased()
			equal(t, "leased", len(leased), 2)
			for _, d := range leased {
				equal(t, fmt.Sprintf("leased delivery %d WebhookID", d.ID), d.WebhookID, fresh.ID)
			}
		}

		// The busy webhook's deliveries are all claimable, oldest first.
		oldest, err := s.claimAt(now, "suite", 1)
		must(t, err, "Claim 1")
		if len(oldest) != 1 || oldest[0].Event.ID != first[0].Event.ID {
			t.Fatalf("first claim of 1: %v, want the delivery due already (of %s)", oldest, first[0].Event.ID)
		}
		claimed := claimAll(t, s, now)
		busyEvents := map[string]bool{}
		for _, d := range claimed {
			if d.WebhookID == busy.ID {
				busyEvents[d.Event.ID] = true
			}
		}
		deepEqual(t, "the busy webhook's other deliveries claimed", busyEvents,
			map[string]bool{later[0].Event.ID: true, later[1].Event.ID: true, both[0].Event.ID: true})
		want := append(append(eventIDs(first), eventIDs(later)...), eventIDs(both)...)
		flying := append(append(handedOver(mixed), claimedBySuite(oldest)...), claimedBySuite(claimed)...)
		drain(t, s, now, want, flying, busy, fresh)
	})

	t.Run("ordered webhooks are left to Claim", func(t *testing.T) {
		s := open(t)
		w := createWebhook(t, s, newWebhook("ordered", assetAdded))
		// A publish builds the store's subscriptions before the setting,
		// which must reach them (as in testOrdering).
		publish(t, s, newEvent(userAdded, nil, nil))
		must(t, s.UpdateSettings(ctx(t), w.ID, hookd.WebhookSettings{Ordering: hookd.OrderWebhook}.Update()), "UpdateSettings")
		now := s.clock.Now()
		h := &RecordingHandoff{}
		res := publishAndClaim(t, s, h, newEvents(assetAdded, 3)...)
		equal(t, "offers for an ordered webhook", len(h.Offers), 0)
		for i, id := range eventIDs(res) {
			ds := claimAll(t, s, now)
			if len(ds) != 1 || ds[0].Event.ID != id {
				t.Fatalf("claim %d: %d deliveries, want the lane's next, of event %s", i, len(ds), id)
			}
			complete(t, s, result(ds[0], now, true, 200))
		}
		figures(t, s, w.ID, 0, 0)
	})

	t.Run("a webhook's share caps the lease", func(t *testing.T) {
		s := open(t)
		w := createWebhook(t, s, newWebhook("w", assetAdded))
		must(t, s.UpdateSettings(ctx(t), w.ID, hookd.WebhookSettings{MaxInFlight: 1}.Update()), "UpdateSettings")
		now := s.clock.Now()
		h := &RecordingHandoff{}
		res := publishAndClaim(t, s, h, newEvents(assetAdded, 3)...)
		leased := h.Leased()
		if len(leased) > 1 {
			t.Fatalf("leased %d deliveries of a webhook with MaxInFlight 1", len(leased))
		}
		if len(h.Offers) > 0 {
			deepEqual(t, "offers", h.Offers, []int{3})
			equal(t, "leased", len(leased), 1)
		}
		claimed := claimAll(t, s, now)
		equal(t, "claimed and leased", len(claimed)+len(leased), 1)
		drain(t, s, now, eventIDs(res), append(handedOver(h), claimedBySuite(claimed)...), w)

		// With its share in flight and nothing due, a webhook is offered
		// its fresh delivery, and leases none of it.
		one := &RecordingHandoff{}
		res = publishAndClaim(t, s, one, newEvent(assetAdded, nil, nil))
		full := &RecordingHandoff{}
		more := publishAndClaim(t, s, full, newEvent(assetAdded, nil, nil))
		if len(one.Offers) > 0 {
			equal(t, "leased of one fresh delivery", len(one.Leased()), 1)
			deepEqual(t, "offers with the share in flight", full.Offers, []int{1})
			equal(t, "leased with the share in flight", len(full.Leased()), 0)
		}
		claimed = claimAll(t, s, now)
		flying := append(append(handedOver(one), handedOver(full)...), claimedBySuite(claimed)...)
		drain(t, s, now, append(eventIDs(res), eventIDs(more)...), flying, w)
	})

	t.Run("a refused offer leases nothing", func(t *testing.T) {
		s := open(t)
		w := createWebhook(t, s, newWebhook("w", assetAdded))
		now := s.clock.Now()
		h := &RecordingHandoff{Refuse: true}
		res := publishAndClaim(t, s, h, newEvents(assetAdded, 3)...)
		if len(h.Offers) > 0 {
			deepEqual(t, "offers", h.Offers, []int{3})
		}
		claimed := claimAll(t, s, now)
		equal(t, "claimed", len(claimed), 3)
		drain(t, s, now, eventIDs(res), claimedBySuite(claimed), w)
	})

	// A batch refused after the offer (hookd.Republish: an id of another
	// key) hands over nothing, and stores nothing.
	t.Run("a failed publish hands over nothing", func(t *testing.T) {
		s := open(t)
		w := createWebhook(t, s, newWebhook("w", assetAdded))
		const keyA, keyB = 11, 12
		publish(t, s, &hookd.Event{ID: "shared", Event: userAdded, Data: json.RawMessage(`{}`), PublisherKeyID: keyA})
		h := &RecordingHandoff{}
		_, err := s.PublishAndClaim(ctx(t), []*hookd.Event{
			{ID: "b-1", Event: assetAdded, Data: json.RawMessage(`{}`), PublisherKeyID: keyB},
			{ID: "shared", Event: assetAdded, Data: json.RawMessage(`{}`), PublisherKeyID: keyB},
		}, h)
		var taken *hookd.EventIDTakenError
		if !errors.As(err, &taken) || taken.Index != 1 {
			t.Fatalf("PublishAndClaim of a batch with another key's id: %v, want an EventIDTakenError for event 1", err)
		}
		h.CheckTakes(t)
		if len(h.Offers) > 0 {
			deepEqual(t, "offers", h.Offers, []int{1})
			equal(t, "takes", len(h.Takes), 1)
			equal(t, "deliveries handed over", len(h.Leased()), 0)
		}
		equal(t, "claimed after the failed publish", len(claimAll(t, s, s.clock.Now())), 0)
		figures(t, s, w.ID, 0, 0)
		res := publish(t, s, &hookd.Event{ID: "b-1", Event: assetAdded, Data: json.RawMessage(`{}`), PublisherKeyID: keyB})
		equal(t, "b-1 of the failed publish Duplicate", res[0].Duplicate, false)
	})

	t.Run("PublishEvents leases nothing", func(t *testing.T) {
		s := open(t)
		w := createWebhook(t, s, newWebhook("w", assetAdded))
		now := s.clock.Now()
		res := publish(t, s, newEvents(assetAdded, 3)...)
		claimed := claimAll(t, s, now)
		equal(t, "claimed", len(claimed), 3)
		drain(t, s, now, eventIDs(res), claimedBySuite(claimed), w)
	})
}
