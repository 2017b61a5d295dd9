package hookd

import (
	"maps"
	"slices"
	"testing"
	"time"
)

func takes(p ClaimPlan) map[int64]int {
	out := map[int64]int{}
	for _, g := range p.Grants {
		out[g.WebhookID] = g.Take
	}
	return out
}

func TestPlanClaimRoundRobin(t *testing.T) {
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) *time.Time { v := now.Add(-d); return &v }
	req := ClaimRequest{Limit: 5, Lease: time.Minute, Workers: 40} // share 10
	cands := []ClaimCandidate{
		{WebhookID: 1, Due: 100, LastClaimedAt: ago(time.Second)},
		{WebhookID: 2, Due: 100, LastClaimedAt: ago(time.Minute)},
		{WebhookID: 3, Due: 1},
	}
	// one each a round, least recently served first: 3 (never), 2, 1, 2, 1
	equalTakes(t, "takes", takes(PlanClaim(now, req, cands)), map[int64]int{1: 2, 2: 2, 3: 1})
	if p := PlanClaim(now, req, cands); p.Grants[0].WebhookID != 3 || p.Grants[1].WebhookID != 2 {
		t.Errorf("grants in order %v, want 3, 2, 1", p.Grants)
	}
	// a limit smaller than the webhooks: the least recently served win
	req.Limit = 2
	equalTakes(t, "takes, limit 2", takes(PlanClaim(now, req, cands)), map[int64]int{2: 1, 3: 1})
}

func TestPlanClaimShare(t *testing.T) {
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	req := ClaimRequest{Limit: 8, Lease: time.Minute, Workers: 8} // default share 2
	cands := []ClaimCandidate{
		{WebhookID: 1, Due: 100, InFlight: 2},                                            // at its share
		{WebhookID: 2, Due: 100, InFlight: 1},                                            // one more
		{WebhookID: 3, Due: 100, Settings: WebhookSettings{MaxInFlight: 4}},              // its own share
		{WebhookID: 4, Due: 100, InFlight: 5, Settings: WebhookSettings{MaxInFlight: 3}}, // over (lowered)
	}
	equalTakes(t, "takes", takes(PlanClaim(now, req, cands)), map[int64]int{2: 1, 3: 4})

	// Attempts that ended, their results not yet recorded, hold no worker.
	req.Settled = map[int64]int{1: 1, 4: 9}
	equalTakes(t, "takes with settled attempts", takes(PlanClaim(now, req, cands)), map[int64]int{1: 1, 2: 1, 3: 3, 4: 3})
}

// fixedWindows is a Windows of fixed sizes (a webhook not listed: its
// share) that notes the webhooks it was asked for.
type fixedWindows struct {
	size  map[int64]int
	asked []WindowAsk
}

func (w *fixedWindows) Sizes(asks []WindowAsk) []int {
	out := make([]int, len(asks))
	for i, a := range asks {
		w.asked = append(w.asked, a)
		out[i] = a.Share
		if n, ok := w.size[a.WebhookID]; ok {
			out[i] = n
		}
	}
	return out
}

// A window caps a webhook below its share, counting its attempts in flight
// in every process; a window of 0 takes nothing. The windows are told
// which webhooks' receivers are failing, as recorded. Only the webhooks that
// could take a delivery but for their windows are asked for them (a bound
// the windows share is not spent on the others); those that their window,
// not their share, left with due deliveries are held back, and the held
// share is the window (at least 1).
func TestPlanClaimWindows(t *testing.T) {
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	win := &fixedWindows{size: map[int64]int{1: 3, 2: 3, 3: 0, 5: 100}}
	req := ClaimRequest{Limit: 40, Lease: time.Minute, Workers: 32, Windows: win} // default share 8
	probeAt := now.Add(time.Minute)
	cands := []ClaimCandidate{
		{WebhookID: 1, Due: 100, Failing: true}, // its window of 3
		{WebhookID: 2, Due: 100, InFlight: 2},   // one more in its window
		{WebhookID: 3, Due: 100},                // window 0: none
		{WebhookID: 4, Due: 100, InFlight: 8},   // at its share, which no window caps
		{WebhookID: 5, Due: 2},                  // a window beyond its due deliveries
		{WebhookID: 6, Due: 5, Circuit: Circuit{State: CircuitOpen, ProbeAt: &probeAt}}, // its circuit takes nothing
	}
	plan := PlanClaim(now, req, cands)
	equalTakes(t, "takes", takes(plan), map[int64]int{1: 3, 2: 1, 5: 2})
	want := []WindowAsk{
		{WebhookID: 1, Share: 8, Wants: 8, Failing: true},
		{WebhookID: 2, Share: 8, InFlight: 2, Wants: 6},
		{WebhookID: 3, Share: 8, Wants: 8},
		{WebhookID: 5, Share: 8, Wants: 2},
	}
	if !slices.Equal(win.asked, want) {
		t.Errorf("windows asked for %+v, want %+v (not 4, at its share; not 6, its circuit open)", win.asked, want)
	}
	if want := []int64{1, 2, 3}; !slices.Equal(plan.HeldBack, want) {
		t.Errorf("held back %v, want %v (not 4, held by its share; not 5, served in full)", plan.HeldBack, want)
	}
	if plan.HeldShare != 1 {
		t.Errorf("HeldShare %d, want 1: the window of 0, counted as 1", plan.HeldShare)
	}

	// Without windows, the share alone.
	req.Windows = nil
	equalTakes(t, "takes without windows", takes(PlanClaim(now, req, cands)), map[int64]int{1: 8, 2: 6, 3: 8, 5: 2})
}

func TestPlanClaimHeldShare(t *testing.T) {
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	req := ClaimRequest{Limit: 32, Lease: time.Minute, Workers: 32} // default share 8
	for _, tc := range []struct {
		name  string
		limit int
		cands []ClaimCandidate
		want  int
	}{
		{"nothing left due", 32, []ClaimCandidate{{WebhookID: 1, Due: 5}}, 0},
		{"a backlog beyond the share", 32, []ClaimCandidate{{WebhookID: 1, Due: 20}}, 8},
		{"at its share already", 32, []ClaimCandidate{{WebhookID: 1, Due: 20, InFlight: 8}}, 8},
		{"the claim's limit holds it back, not its share", 4, []ClaimCandidate{{WebhookID: 1, Due: 20}}, 0},
		{"the smallest share held", 32, []ClaimCandidate{
			{WebhookID: 1, Due: 20},
			{WebhookID: 2, Due: 20, Settings: WebhookSettings{MaxInFlight: 2}},
			{WebhookID: 3, Due: 1, Settings: WebhookSettings{MaxInFlight: 1}},
		}, 2},
		{"its throttle holds it back", 32, []ClaimCandidate{
			{WebhookID: 1, Due: 20, Settings: WebhookSettings{MaxPerSecond: 1}, ThrottleNextAt: &now},
		}, 0},
		{"its open circuit holds it back", 32, []ClaimCandidate{
			{WebhookID: 1, Due: 20, Circuit: Circuit{State: CircuitOpen, ProbeAt: new(now.Add(time.Minute))}},
		}, 0},
	} {
		req.Limit = tc.limit
		if got := PlanClaim(now, req, tc.cands).HeldShare; got != tc.want {
			t.Errorf("%s: HeldShare %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestPlanClaimThrottleAndCircuit(t *testing.T) {
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { v := now.Add(d); return &v }
	req := ClaimRequest{Limit: 10, Lease: time.Minute, Workers: 40}
	cands := []ClaimCandidate{
		{WebhookID: 1, Due: 10, Settings: WebhookSettings{MaxPerSecond: 20}, ThrottleNextAt: at(0)},
		{WebhookID: 2, Due: 10, Settings: WebhookSettings{MaxPerSecond: 1}, ThrottleNextAt: at(300 * time.Millisecond)},
		{WebhookID: 3, Due: 10, Circuit: Circuit{State: CircuitOpen, ProbeAt: at(-time.Second)}},
		{WebhookID: 4, Due: 10, Circuit: Circuit{State: CircuitOpen, ProbeAt: at(time.Second)}},
	}
	p := PlanClaim(now, req, cands)
	equalTakes(t, "takes", takes(p), map[int64]int{1: 1, 3: 1})
	for _, g := range p.Grants {
		switch g.WebhookID {
		case 1:
			if !g.ThrottleNextAt.Equal(now.Add(50 * time.Millisecond)) {
				t.Errorf("throttle next at %v, want +50ms", g.ThrottleNextAt)
			}
			if g.ProbeFrom != nil {
				t.Errorf("closed circuit: ProbeFrom = %+v, want nil (the claim leaves it as it is)", g.ProbeFrom)
			}
		case 3:
			if g.Circuit.State != CircuitHalfOpen || !g.Circuit.ProbeAt.Equal(now.Add(req.Lease)) {
				t.Errorf("probe's circuit %+v, want half open until the lease ends", g.Circuit)
			}
			if g.ProbeFrom == nil || g.ProbeFrom.State != CircuitOpen || !g.ProbeFrom.ProbeAt.Equal(*cands[2].Circuit.ProbeAt) {
				t.Errorf("probe's ProbeFrom = %+v, want the open circuit read", g.ProbeFrom)
			}
		}
	}
	// webhook 1 keeps due deliveries: wake for its next slot, before 2's
	if !p.WakeAt.Equal(now.Add(50 * time.Millisecond)) {
		t.Errorf("WakeAt = %v, want +50ms", p.WakeAt)
	}
	if p := PlanClaim(now, req, cands[1:2]); !p.WakeAt.Equal(now.Add(300 * time.Millisecond)) {
		t.Errorf("throttled only: WakeAt = %v, want +300ms", p.WakeAt)
	}
	if p := PlanClaim(now, req, cands[3:]); !p.WakeAt.Equal(now.Add(time.Second)) || len(p.Grants) != 0 {
		t.Errorf("open circuit: %+v, want no grant and a wake at its probe", p)
	}
}

func equalTakes(t *testing.T, what string, got, want map[int64]int) {
	t.Helper()
	if !maps.Equal(got, want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}
