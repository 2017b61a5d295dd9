package delivery

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/clocktest"
)

var (
	succeeded = &hookd.AttemptResult{Success: true}
	timedOut  = &hookd.AttemptResult{ErrorClass: hookd.ClassTimeout}
	answered  = &hookd.AttemptResult{ErrorClass: hookd.ClassStatus, HTTPStatus: 500}
)

// round starts n attempts of webhook id and ends them all with r.
func round(ws *windows, id int64, n int, r *hookd.AttemptResult) {
	tickets := make([]windowTicket, n)
	for i := range tickets {
		tickets[i] = ws.started(id)
	}
	for _, t := range tickets {
		ws.ended(id, t, r)
	}
}

// sizeOf is webhook id's window, as a claim of this process alone, with
// nothing settled, asks for it: wanting its whole share.
func sizeOf(ws *windows, id int64, share int) int {
	inFlight := 0
	if w := ws.of[id]; w != nil {
		inFlight = w.inFlight
	}
	return ws.Sizes([]hookd.WindowAsk{{WebhookID: id, Share: share, InFlight: inFlight, Wants: share}})[0]
}

func wantWindow(t *testing.T, ws *windows, id int64, share, want int) {
	t.Helper()
	if got := sizeOf(ws, id, share); got != want {
		t.Fatalf("webhook %d: window %d, want %d", id, got, want)
	}
}

// A webhook whose receiver has not answered may have one attempt in
// flight; once it answers, InitialWindow; then, with deliveries waiting,
// the window doubles every round trip up to the share.
func TestWindowGrowsWithAnswers(t *testing.T) {
	ws := newWindows(256, hookd.SystemClock)
	const id, share = 1, 64
	wantWindow(t, ws, id, share, 1)
	round(ws, id, 1, succeeded)
	wantWindow(t, ws, id, share, InitialWindow)
	for _, want := range []int{8, 16, 32, 64, 64} {
		round(ws, id, sizeOf(ws, id, share), succeeded) // each round fills the window
		wantWindow(t, ws, id, share, want)
	}
	// A share lowered (max_in_flight) caps the window at once.
	wantWindow(t, ws, id, 10, 10)
}

// A window that is never full does not grow, however many successes: a
// quiet webhook keeps a small window, and holds no more if it hangs.
func TestWindowGrowsOnlyWhenFull(t *testing.T) {
	ws := newWindows(256, hookd.SystemClock)
	const id, share = 1, 64
	round(ws, id, 1, succeeded)
	for range 100 {
		round(ws, id, 2, succeeded)
	}
	wantWindow(t, ws, id, share, InitialWindow)

	// A claim that held deliveries back for the window (in this process
	// or, counting another's attempts, in any) fills it: the attempts in
	// flight then grow it when they succeed.
	a, b := ws.started(id), ws.started(id)
	ws.heldBack([]int64{id})
	ws.ended(id, a, succeeded)
	ws.ended(id, b, succeeded)
	wantWindow(t, ws, id, share, InitialWindow+2)
	// An attempt that began after the hold does not count it.
	c := ws.started(id)
	ws.ended(id, c, succeeded)
	wantWindow(t, ws, id, share, InitialWindow+2)
}

// A timeout halves the window and takes the trust away: one attempt in
// flight until the next success, which gives back the halved window.
// Failures that were answered change nothing.
func TestWindowShrinksOnTimeouts(t *testing.T) {
	ws := newWindows(256, hookd.SystemClock)
	const id, share = 1, 64
	round(ws, id, 1, succeeded)
	for range 3 {
		round(ws, id, sizeOf(ws, id, share), succeeded)
	}
	wantWindow(t, ws, id, share, 32)
	round(ws, id, 10, answered)
	wantWindow(t, ws, id, share, 32)

	round(ws, id, 1, timedOut)
	wantWindow(t, ws, id, share, 1)
	round(ws, id, 1, succeeded)
	wantWindow(t, ws, id, share, 16)

	round(ws, id, 16, timedOut) // each halves it, down to 1
	round(ws, id, 1, succeeded)
	wantWindow(t, ws, id, share, 1)
	round(ws, id, 1, succeeded) // full: it grows again
	wantWindow(t, ws, id, share, 2)
}

// The attempts of webhooks not trusted hold at most half the workers: then
// such a webhook gets a window of 0, a trusted one its own.
func TestWindowUntrustedBudget(t *testing.T) {
	ws := newWindows(8, hookd.SystemClock) // a budget of 4
	const trusted, share = 100, 2
	round(ws, trusted, 1, succeeded)

	var hanging []windowTicket
	for id := range int64(4) {
		wantWindow(t, ws, id, share, 1)
		hanging = append(hanging, ws.started(id))
	}
	wantWindow(t, ws, 10, share, 0) // never answered
	wantWindow(t, ws, trusted, share, 2)

	// A trusted webhook's attempt that times out makes it one of them.
	ws.ended(trusted, ws.started(trusted), timedOut)
	wantWindow(t, ws, trusted, share, 0)

	ws.ended(0, hanging[0], timedOut)
	wantWindow(t, ws, 10, share, 1)
	wantWindow(t, ws, 0, share, 1)
}

// A webhook whose receiver answers slowly (SlowAnswer on average, recent
// answers weighing most) is limited like one not trusted, and a suspect:
// its attempts count in both budgets, and its window is what the
// suspects' budget leaves, up to its own. The rest of the limited half
// stays for webhooks not heard from yet. Quicker answers lift that.
func TestWindowSlowAnswersShareTheBudget(t *testing.T) {
	ws := newWindows(8, hookd.SystemClock) // a budget of 4, 2 of it for suspects
	const slow, quick, share = 1, 2, 8
	slowly := &hookd.AttemptResult{Success: true, Duration: 2 * SlowAnswer}
	round(ws, slow, 1, slowly)
	round(ws, quick, 1, succeeded)
	round(ws, slow, InitialWindow, slowly) // fills its window, which grows: 8
	wantWindow(t, ws, slow, share, 2)      // the suspects' budget, not its window of 8
	held := []windowTicket{ws.started(slow)}
	wantWindow(t, ws, slow, share, 2) // its 1 in flight, and the one left
	held = append(held, ws.started(slow))
	wantWindow(t, ws, slow, share, 2)              // its 2 in flight, no more
	wantWindow(t, ws, 3, share, 1)                 // one for a webhook never seen, of the limited half
	wantWindow(t, ws, quick, share, InitialWindow) // not limited
	for _, tk := range held {
		ws.ended(slow, tk, succeeded) // quick answers now: the average falls below SlowAnswer
	}
	round(ws, slow, 2, succeeded)
	if w := ws.of[slow]; w.answer >= SlowAnswer {
		t.Fatalf("average answer %v after quick ones, want under %v", w.answer, SlowAnswer)
	}
	wantWindow(t, ws, slow, share, 8)
}

// One claim's webhooks not trusted share what is left of the budget, in
// the claim's order; one with its attempt in flight takes none of it.
func TestWindowUntrustedBudgetSharedInAClaim(t *testing.T) {
	ws := newWindows(8, hookd.SystemClock) // a budget of 4
	ws.started(1)
	var asks []hookd.WindowAsk
	for id := range int64(6) {
		asks = append(asks, hookd.WindowAsk{WebhookID: 1 + id, Share: 2, Wants: 2})
	}
	asks[0].InFlight = 1
	got := ws.Sizes(asks)
	if want := []int{1, 1, 1, 1, 0, 0}; !slices.Equal(got, want) {
		t.Fatalf("windows %v, want %v", got, want)
	}
}

// A limited webhook takes of the budget only what it wants, and what it
// has in flight in other processes counts: a slow webhook with a large
// window and one delivery due leaves the rest to the others.
func TestWindowBudgetSpentOnWants(t *testing.T) {
	ws := newWindows(8, hookd.SystemClock) // a budget of 4
	const slow, share = 1, 8
	slowly := &hookd.AttemptResult{Success: true, Duration: 2 * SlowAnswer}
	round(ws, slow, 1, slowly)
	round(ws, slow, 4, slowly) // window 8
	got := ws.Sizes([]hookd.WindowAsk{
		{WebhookID: slow, Share: share, Wants: 1},
		{WebhookID: 2, Share: share, Wants: 5},
		{WebhookID: 3, Share: share, Wants: 5},
	})
	if want := []int{1, 1, 1}; !slices.Equal(got, want) {
		t.Errorf("windows %v, want %v: the slow one's one, then one each", got, want)
	}
	// 3 of its attempts in flight elsewhere: the suspects' budget's 2 more.
	if got := ws.Sizes([]hookd.WindowAsk{{WebhookID: slow, Share: share, InFlight: 3, Wants: 5}}); got[0] != 3+2 {
		t.Errorf("window %d with 3 in flight elsewhere, want 5: the suspects' budget's 2 more", got[0])
	}
}

// A dispatcher that has not heard from a receiver yet takes it as the
// store recorded it: failing, a suspect, its attempts held to the
// suspects' quarter; not failing, one not heard from. Once it has heard
// from the receiver, what it saw counts, not the record.
func TestWindowFailingOnRecord(t *testing.T) {
	ws := newWindows(8, hookd.SystemClock) // a budget of 4, 2 of it for suspects
	const failing, failing2, failing3, fresh, share = 1, 2, 3, 4, 8
	ask := func(id int64, onRecord bool) int {
		inFlight := 0
		if w := ws.of[id]; w != nil {
			inFlight = w.inFlight
		}
		return ws.Sizes([]hookd.WindowAsk{{WebhookID: id, Share: share, InFlight: inFlight, Wants: share, Failing: onRecord}})[0]
	}
	if got := ask(failing, true); got != 1 {
		t.Fatalf("failing on record: window %d, want 1: not trusted", got)
	}
	a := ws.started(failing)
	ask(failing2, true)
	b := ws.started(failing2)
	if got := ask(failing3, true); got != 0 {
		t.Errorf("failing on record, 2 suspects' attempts in flight: window %d, want 0: their quarter spent", got)
	}
	if got := ask(fresh, false); got != 1 {
		t.Errorf("not failing on record, 2 suspects' attempts in flight: window %d, want 1: the limited half's rest", got)
	}

	// Heard from: a success trusts it, whatever the record says.
	ws.ended(failing, a, succeeded)
	if got := ask(failing, true); got != InitialWindow {
		t.Errorf("answered here, failing on record: window %d, want %d", got, InitialWindow)
	}
	// The record moves on (another process's success): no longer a suspect.
	ws.ended(failing2, b, nil)
	ask(failing2, false)
	if got := ws.started(failing2); got.suspect || !got.limited {
		t.Errorf("no longer failing on record: ticket %+v, want limited, not a suspect", got)
	}
	// A timeout here makes a suspect, whatever the record says.
	round(ws, fresh, 1, timedOut)
	ask(fresh, false)
	if got := ws.started(fresh); !got.suspect {
		t.Errorf("timed out here, not failing on record: ticket %+v, want a suspect", got)
	}
}

// Suspects (failing receivers) hold at most half of the limited half:
// webhooks not heard from yet, a new one's test delivery among them, keep
// the rest while receivers known to hang fill theirs.
func TestWindowSuspectsLeaveRoomForTheUnheard(t *testing.T) {
	ws := newWindows(16, hookd.SystemClock) // a budget of 8, 4 of it for suspects
	var asks []hookd.WindowAsk
	for id := range int64(6) {
		round(ws, 1+id, 1, timedOut)
		asks = append(asks, hookd.WindowAsk{WebhookID: 1 + id, Share: 4, Wants: 4})
	}
	for id := range int64(6) {
		asks = append(asks, hookd.WindowAsk{WebhookID: 100 + id, Share: 4, Wants: 4})
	}
	got := ws.Sizes(asks)
	if want := []int{1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 0}; !slices.Equal(got, want) {
		t.Fatalf("windows %v, want %v: four suspects, then four not heard from", got, want)
	}
	for id := range int64(6) {
		ws.started(1 + id) // a hand-off may pass the budget by a few
	}
	got = ws.Sizes(asks[6:])
	if want := []int{1, 1, 0, 0, 0, 0}; !slices.Equal(got, want) {
		t.Fatalf("windows %v with 6 suspects in flight, want %v: the limited half's 2 left", got, want)
	}
}

// A dispatcher's window caps its own attempts: another process's attempts
// in flight (in InFlight) take nothing of it, and the window returned
// counts them, as PlanClaim counts in flight over every process.
func TestWindowCountsItsOwnAttempts(t *testing.T) {
	ws := newWindows(256, hookd.SystemClock)
	const unseen, trusted, share = 1, 2, 64
	got := ws.Sizes([]hookd.WindowAsk{{WebhookID: unseen, Share: share, InFlight: 20, Wants: 10}})
	if got[0] != 21 {
		t.Errorf("window %d for a webhook with 20 in flight elsewhere, none here, want 21: one attempt of its own", got[0])
	}
	round(ws, trusted, 1, succeeded)
	a, b := ws.started(trusted), ws.started(trusted)
	got = ws.Sizes([]hookd.WindowAsk{{WebhookID: trusted, Share: share, InFlight: 30, Wants: 10}})
	if got[0] != 30+InitialWindow-2 {
		t.Errorf("window %d with 2 of 30 in flight here, want %d: its window's %d less its own 2", got[0], 30+InitialWindow-2, InitialWindow)
	}
	ws.ended(trusted, a, succeeded)
	ws.ended(trusted, b, succeeded)
}

// A slow receiver whose max_in_flight an admin set is not limited: the
// admin said how much it takes. A timeout still takes its trust.
func TestWindowMaxInFlightSetIsNotSlow(t *testing.T) {
	ws := newWindows(8, hookd.SystemClock) // a budget of 4
	const id, share = 1, 200
	slowly := &hookd.AttemptResult{Success: true, Duration: 2 * SlowAnswer}
	ask := []hookd.WindowAsk{{WebhookID: id, Share: share, Wants: share, MaxInFlightSet: true}}
	round(ws, id, 1, slowly)
	for range 3 {
		round(ws, id, ws.Sizes(ask)[0], slowly)
	}
	if got := ws.Sizes(ask)[0]; got != 32 {
		t.Errorf("window %d, want 32: grown as a quick one's, beyond the budget of 4", got)
	}
	round(ws, id, 1, timedOut)
	if got := ws.Sizes(ask)[0]; got != 1 {
		t.Errorf("window %d after a timeout, want 1", got)
	}
}

// Errors answered slowly make a webhook slow as timeouts do: a receiver
// that answers 500 just within the timeout does not keep its workers.
func TestWindowSlowErrorsCount(t *testing.T) {
	ws := newWindows(8, hookd.SystemClock)
	const id = 1
	round(ws, id, 1, succeeded)
	for range 8 {
		round(ws, id, 1, &hookd.AttemptResult{ErrorClass: hookd.ClassStatus, HTTPStatus: 500, Duration: 2 * SlowAnswer})
	}
	if w := ws.of[id]; !ws.isLimited(w) {
		t.Errorf("average answer %v after slow 500s: not limited", w.answer)
	}
}

// An attempt not made (a webhook disabled since its claim, a shutdown)
// frees its place and changes no window; a webhook back to the state of
// one never seen is forgotten.
func TestWindowForgets(t *testing.T) {
	ws := newWindows(8, hookd.SystemClock)
	const id = 1
	ws.ended(id, ws.started(id), nil)
	ws.heldBack([]int64{id, 2}) // held back before answering: nothing to grow
	if len(ws.of) != 0 || ws.limited != 0 {
		t.Fatalf("after an attempt not made: %d windows, %d limited attempts; want none", len(ws.of), ws.limited)
	}
	round(ws, id, 1, succeeded)
	round(ws, id, 1, timedOut)
	if len(ws.of) != 1 {
		t.Fatalf("%d windows, want the halved one kept", len(ws.of))
	}
}

// A window that no plan asks for and no attempt begins in for
// forgetAfter, with no attempt in flight, is forgotten: the webhook starts
// again as one not heard from. The windows asked for, and those with
// attempts running, stay.
func TestWindowForgetsTheUnused(t *testing.T) {
	clock := clocktest.New(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	ws := newWindows(8, clock)
	const quiet, running, busy, share = 1, 2, 3, 8
	round(ws, quiet, 1, succeeded)
	round(ws, running, 1, succeeded)
	hangs := ws.started(running)
	round(ws, busy, 1, succeeded)
	ask := []hookd.WindowAsk{{WebhookID: busy, Share: share, Wants: share}}
	clock.Advance(forgetAfter - time.Millisecond)
	ws.Sizes(ask)
	if len(ws.of) != 3 {
		t.Fatalf("%d windows just before forgetAfter, want 3", len(ws.of))
	}
	clock.Advance(forgetAfter / 10)
	ws.Sizes(ask)
	if _, ok := ws.of[quiet]; ok || len(ws.of) != 2 {
		t.Fatalf("windows %v after forgetAfter, want the quiet webhook's forgotten", slices.Sorted(maps.Keys(ws.of)))
	}
	wantWindow(t, ws, quiet, share, 1)
	wantWindow(t, ws, busy, share, InitialWindow)
	ws.ended(running, hangs, succeeded)
	wantWindow(t, ws, running, share, InitialWindow)

	// A window asked for in the plan that looks for the unused is kept.
	clock.Advance(forgetAfter)
	ws.Sizes(ask)
	wantWindow(t, ws, busy, share, InitialWindow)
}
