package hookd

import (
	"cmp"
	"slices"
	"time"
)

// ClaimRequest is what Store.Claim is asked for.
type ClaimRequest struct {
	// Worker names the lease (see Store.Claim).
	Worker string
	// Limit is the most deliveries to claim.
	Limit int
	// Lease is how long the claimed deliveries are the worker's; a
	// circuit's probe counts as lost after it too.
	Lease time.Duration
	// Workers is the claiming dispatcher's concurrency: a webhook without
	// MaxInFlight holds at most DefaultShare(Workers) attempts at once.
	Workers int
	// Settled counts, by webhook, the claimer's successful attempts that
	// have ended but are not yet handed to Store.Complete: their deliveries
	// are still leased, yet hold no worker, so they do not count against
	// the share. (A failure keeps its slot until recorded, so that the
	// circuit breaker sees it first.)
	// Without it a webhook at its share would wait for each batch of
	// results to be recorded before it could be served again.
	Settled map[int64]int
	// Windows, when not nil, caps each webhook's attempts in flight below
	// its share (Windows.Sizes). The dispatcher adapts each webhook's
	// window to how its receiver answers, so that receivers that hang
	// cannot fill the workers before their first timeouts.
	Windows Windows
}

// Windows gives webhooks' concurrency windows (ClaimRequest.Windows). Sizes
// must be quick and safe for concurrent use: PlanClaim calls it, in a
// store's claim transaction, once a plan (a claim may plan several times:
// PostgreSQL's locking rounds).
type Windows interface {
	// Sizes returns the window of each webhook asked, in the order the
	// plan serves them: at most its share; its attempts in flight, or
	// fewer, when it may start no more now. PlanClaim asks only for the
	// webhooks that could take a delivery but for their windows, so that a
	// bound on several webhooks together is shared out among those.
	Sizes(asks []WindowAsk) []int
}

// WindowAsk is what Windows.Sizes is told of a webhook.
type WindowAsk struct {
	WebhookID int64
	Share     int // WebhookSettings.Share
	// InFlight is how many of its attempts are in flight, in every
	// process, but the claimer's that have ended (ClaimRequest.Settled).
	InFlight int
	// Wants is how many more deliveries it could take but for its window:
	// due, and within its share, throttle and circuit.
	Wants int
	// MaxInFlightSet tells that its share is the max_in_flight an admin
	// set (WebhookSettings.MaxInFlight), not the default.
	MaxInFlightSet bool
	// Failing is ClaimCandidate.Failing.
	Failing bool
}

// ClaimCandidate is a webhook with due deliveries, as a claim finds it.
type ClaimCandidate struct {
	WebhookID int64
	Settings  WebhookSettings
	Circuit   Circuit
	// ThrottleNextAt is Throttle.NextAt.
	ThrottleNextAt *time.Time
	// LastClaimedAt is when a claim last took one of its deliveries; nil
	// when none did.
	LastClaimedAt *time.Time
	// InFlight is how many of its deliveries are leased, lease not expired,
	// in every process.
	InFlight int
	// Due is how many of its deliveries are due, counted up to a bound of
	// the store's, more than the claim's limit (or a constant): a claim
	// takes at most that many of them, and one that takes its whole limit
	// still sees whether more are due (ClaimPlan.HeldShare).
	Due int
	// Failing tells that its receiver's recorded attempts end in a
	// failure (Health.FailingSince is set), for its window (WindowAsk): a
	// dispatcher that has not heard from the receiver yet (restarted, or
	// one of several processes) takes it as failing.
	Failing bool
}

// ClaimGrant is what a claim takes of one webhook, and the webhook's state
// after it, which the store writes back in the claim's transaction.
type ClaimGrant struct {
	WebhookID int64
	// Take is how many of its due deliveries to lease, oldest due first.
	Take int
	// Circuit is the webhook's circuit after the claim. A claim changes it
	// only to take the probe of an open circuit, and then ProbeFrom is the
	// circuit the claim read; ProbeFrom is nil when the claim leaves the
	// circuit as it is.
	//
	// Claims do not lock a webhook against Complete, which records the
	// circuit's failures, so the circuit may have moved since the claim
	// read it: the store writes Circuit only where the webhook's circuit
	// is still ProbeFrom (its state and probe time), and otherwise leases
	// nothing of that webhook.
	Circuit   Circuit
	ProbeFrom *Circuit
	// ThrottleNextAt is the webhook's Throttle.NextAt after the claim.
	ThrottleNextAt *time.Time
}

// ClaimPlan is PlanClaim's answer.
type ClaimPlan struct {
	// Grants lists the webhooks served, each taking at least one delivery.
	Grants []ClaimGrant
	// WakeAt is the earliest time a webhook that keeps due deliveries,
	// held back by its throttle or its circuit, may be served again; zero
	// when none is.
	WakeAt time.Time
	// HeldShare is the smallest limit (WebhookSettings.Share, or the
	// window of ClaimRequest.Windows when smaller) of the webhooks that
	// keep due deliveries because they have that many attempts in flight;
	// 0 when none does. Such a webhook may be served
	// again when one of its attempts ends (Claimed.HeldShare).
	HeldShare int
	// HeldBack lists the webhooks that keep due deliveries because their
	// window (ClaimRequest.Windows), not their share, is full: they want
	// more than their window (Claimed.HeldBack).
	HeldBack []int64
}

// Claimed is what Store.Claim leased.
type Claimed struct {
	// Deliveries are the deliveries leased, with their events, by id.
	Deliveries []*Delivery
	// HeldBack is ClaimPlan.HeldBack (of every plan the claim made): the
	// claimer's windows learn that these webhooks want more.
	HeldBack []int64
	// HeldShare is ClaimPlan.HeldShare: when it is not 0, some webhook
	// waits for one of its attempts to end, and a claimer that waits for
	// about half of that many to end claims them together; when it is 0,
	// an attempt's end frees nothing that has due deliveries.
	HeldShare int
	// TargetsVersion is the version of the webhooks' targets that the
	// claim's transaction saw once it had leased its deliveries (0 when it
	// leased none). Every change to what Store.Targets returns (a URL, a
	// method, a header, a secret, the state; a webhook deleted) raises it
	// in the transaction that makes it, in whichever process; recording
	// attempts does not, unless it disables a webhook. Targets read after
	// the claim are at least as new as this version, and stay current
	// until a later claim sees it move (or their SecretsUntil).
	TargetsVersion int64
}

// windowed returns how many attempts of each of order may be in flight at
// once under req: its share (shares[i]), capped by its window for those
// that could take some (caps[i] > 0) but for it, with inFlight[i] in
// flight.
func (req ClaimRequest) windowed(order []ClaimCandidate, shares, inFlight, caps []int) []int {
	limits := slices.Clone(shares)
	if req.Windows == nil {
		return limits
	}
	var asks []WindowAsk
	var asked []int
	for i, c := range order {
		if caps[i] > 0 {
			asks = append(asks, WindowAsk{WebhookID: c.WebhookID, Share: shares[i], InFlight: inFlight[i], Wants: caps[i],
				MaxInFlightSet: c.Settings.MaxInFlight > 0, Failing: c.Failing})
			asked = append(asked, i)
		}
	}
	if len(asks) == 0 {
		return limits
	}
	for j, size := range req.Windows.Sizes(asks) {
		limits[asked[j]] = max(0, min(size, shares[asked[j]]))
	}
	return limits
}

// PlanClaim decides what a claim at now takes of the candidates: round
// robin, least recently served first (never served first, then by id), one
// delivery per webhook a round until req.Limit is reached or each webhook
// has what it may take, which is the least of
//   - its due deliveries,
//   - its share (WebhookSettings.Share of req.Workers), capped by its window
//     (req.Windows), less its attempts in flight,
//   - what its throttle allows (Throttle.Allows),
//   - what its circuit allows (Circuit.Claimable: nothing while open, one
//     probe once the cool-down is over).
//
// So one webhook's backlog never fills a claim while others wait, and a
// webhook at its share does not hold up the others.
func PlanClaim(now time.Time, req ClaimRequest, candidates []ClaimCandidate) ClaimPlan {
	order := slices.Clone(candidates)
	slices.SortFunc(order, func(a, b ClaimCandidate) int {
		switch {
		case a.LastClaimedAt == nil && b.LastClaimedAt != nil:
			return -1
		case a.LastClaimedAt != nil && b.LastClaimedAt == nil:
			return 1
		case a.LastClaimedAt != nil:
			if c := a.LastClaimedAt.Compare(*b.LastClaimedAt); c != 0 {
				return c
			}
		}
		return cmp.Compare(a.WebhookID, b.WebhookID)
	})

	var plan ClaimPlan
	wake := func(t *time.Time) {
		if t != nil && t.After(now) && (plan.WakeAt.IsZero() || t.Before(plan.WakeAt)) {
			plan.WakeAt = *t
		}
	}
	caps := make([]int, len(order))
	circuits := make([]Circuit, len(order))
	probes := make([]bool, len(order)) // the claim would take order[i]'s probe
	shares, inFlight := make([]int, len(order)), make([]int, len(order))
	for i, c := range order {
		shares[i] = c.Settings.Share(req.Workers)
		inFlight[i] = max(c.InFlight-req.Settled[c.WebhookID], 0)
		n := min(c.Due, shares[i]-inFlight[i])
		if allows := c.throttle().Allows(now); allows >= 0 {
			n = min(n, allows)
		}
		circuitAllows, circuit := c.Circuit.Claimable(now, req.Lease)
		if circuitAllows >= 0 {
			if circuitAllows == 0 {
				wake(c.Circuit.ProbeAt)
			}
			n = min(n, circuitAllows)
		}
		caps[i], circuits[i] = max(n, 0), circuit
		probes[i] = circuitAllows == 1
	}
	// limits[i] is order[i]'s share, capped by its window; rooms[i] how
	// many more attempts it allows.
	limits, rooms := req.windowed(order, shares, inFlight, caps), make([]int, len(order))
	for i := range order {
		rooms[i] = max(limits[i]-inFlight[i], 0)
		caps[i] = min(caps[i], rooms[i])
	}

	takes := make([]int, len(order))
	for left, more := req.Limit, true; left > 0 && more; {
		more = false
		for i := range order {
			if left > 0 && takes[i] < caps[i] {
				takes[i]++
				left--
				more = true
			}
		}
	}
	for i, c := range order {
		throttle := c.throttle().Take(now, takes[i])
		if takes[i] < c.Due && throttle.PerSecond > 0 {
			wake(throttle.NextAt)
		}
		if takes[i] < c.Due && takes[i] == rooms[i] {
			if limits[i] < shares[i] {
				plan.HeldBack = append(plan.HeldBack, c.WebhookID)
			}
			if held := max(1, limits[i]); plan.HeldShare == 0 || held < plan.HeldShare {
				plan.HeldShare = held
			}
		}
		if takes[i] == 0 {
			continue
		}
		grant := ClaimGrant{
			WebhookID:      c.WebhookID,
			Take:           takes[i],
			Circuit:        circuits[i],
			ThrottleNextAt: throttle.NextAt,
		}
		if probes[i] {
			grant.ProbeFrom = &c.Circuit
		}
		plan.Grants = append(plan.Grants, grant)
	}
	return plan
}

func (c ClaimCandidate) throttle() Throttle {
	return Throttle{PerSecond: c.Settings.MaxPerSecond, NextAt: c.ThrottleNextAt}
}
