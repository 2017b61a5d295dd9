package hookd

import (
	"testing"
	"time"
)

// A publish may lease the fresh deliveries of the webhooks with none due
// before them.
func TestHandoffCandidates(t *testing.T) {
	cands := []ClaimCandidate{
		{WebhookID: 1},              // nothing due: its 3 fresh ones
		{WebhookID: 2, Due: 1},      // a delivery due already goes first, through Claim
		{WebhookID: 3, InFlight: 5}, // in flight is the plan's business, not this one's
		{WebhookID: 4},              // no fresh delivery: left out
	}
	ready := HandoffCandidates(cands, map[int64]int{1: 3, 2: 2, 3: 1})
	if len(ready) != 2 || ready[0].WebhookID != 1 || ready[0].Due != 3 || ready[1].WebhookID != 3 || ready[1].Due != 1 {
		t.Errorf("HandoffCandidates = %+v; want webhooks 1 (due 3) and 3 (due 1)", ready)
	}
}

// A handoff keeps every rule of a claim: the offer's limit, shares,
// throttles, circuits.
func TestPlanHandoff(t *testing.T) {
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	later := now.Add(time.Minute)
	req := ClaimRequest{Worker: "w/1", Limit: 10, Lease: time.Minute, Workers: 8} // default share 2
	ready := HandoffCandidates([]ClaimCandidate{
		{WebhookID: 1, Settings: WebhookSettings{MaxInFlight: 10}},
		{WebhookID: 2},              // default share 2
		{WebhookID: 3, InFlight: 1}, // 1 left of its share
		{WebhookID: 4, Settings: WebhookSettings{MaxInFlight: 10, MaxPerSecond: 1}}, // a token a second
		{WebhookID: 5, Circuit: Circuit{State: CircuitOpen, ProbeAt: &later}},       // open: nothing
	}, map[int64]int{1: 3, 2: 3, 3: 3, 4: 3, 5: 3})
	equalTakes(t, "takes", grantTakes(PlanHandoff(now, req, ready)), map[int64]int{1: 3, 2: 2, 3: 1, 4: 1})

	req.Limit = 2
	if n := total(grantTakes(PlanHandoff(now, req, ready))); n != 2 {
		t.Errorf("leased %d with an offer of 2", n)
	}
	req.Limit = 0
	if g := PlanHandoff(now, req, ready); g != nil {
		t.Errorf("PlanHandoff with no offer = %v", g)
	}
}

func grantTakes(grants []ClaimGrant) map[int64]int {
	return takes(ClaimPlan{Grants: grants})
}

func total(m map[int64]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
