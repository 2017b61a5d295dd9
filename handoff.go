package hookd

import "time"

// Handoff is a dispatcher of this process offering its idle workers to the
// publishes of this process (Store.PublishAndClaim). A publish leases the
// deliveries it queues that a claim would take at once (PlanHandoff) to
// the dispatcher, in the publish's own transaction, and hands them over
// after the commit: on the single-event path a delivery then costs no
// claim transaction, and no read of its event, and is attempted as soon as
// its publish is committed. What the publish does not lease is claimed as
// usual.
type Handoff interface {
	// Offer reserves up to n of the dispatcher's idle workers for a
	// publish that may lease n deliveries, and returns the claim it may
	// make for them; ok is false when no worker is idle, when due
	// deliveries wait for workers (they go first: the claimer's last claim
	// took as many as it had workers for), or when the dispatcher is not
	// running, and the publish then leases nothing. Every Offer that is ok
	// is followed by a Take of its request. A publish holds the workers
	// only from the moment it knows what it may lease to its commit, so
	// that claims of other deliveries get their turn.
	Offer(n int) (req ClaimRequest, ok bool)
	// Take starts the attempts of the deliveries the publish leased under
	// req (none when it failed or leased none) and frees the rest of the
	// reservation.
	Take(req ClaimRequest, claimed Claimed)
}

// HandoffCandidates returns the candidates a publish may lease
// deliveries of, each with its fresh deliveries as its Due. fresh counts,
// by webhook, the deliveries the publish queues due now outside any
// ordered lane (an ordered webhook's lanes are left to Claim), and is what
// the publish offers to lease (Handoff.Offer: their sum); candidates are
// those webhooks as a claim reads them before the publish adds its
// deliveries (ClaimCandidate.Due counts deliveries due already). A webhook
// with deliveries due already is left out: they go first, through Claim.
func HandoffCandidates(candidates []ClaimCandidate, fresh map[int64]int) []ClaimCandidate {
	var ready []ClaimCandidate
	for _, c := range candidates {
		if n := fresh[c.WebhookID]; n > 0 && c.Due == 0 {
			c.Due = n
			ready = append(ready, c)
		}
	}
	return ready
}

// PlanHandoff decides which of a publish's new deliveries the publish
// leases at once under req (an offer's), of the candidates that
// HandoffCandidates returned: as PlanClaim plans a claim whose due
// deliveries are the fresh ones, so a handoff keeps every rule of a claim
// (shares, windows, throttles, circuits, fairness). The plan's WakeAt,
// HeldShare and HeldBack are left to the claims that take what the publish
// does not: its other deliveries stay due.
func PlanHandoff(now time.Time, req ClaimRequest, ready []ClaimCandidate) []ClaimGrant {
	if req.Limit <= 0 || len(ready) == 0 {
		return nil
	}
	return PlanClaim(now, req, ready).Grants
}
