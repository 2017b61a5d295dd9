package delivery

import (
	"sync"
	"time"

	"github.com/hookd/hookd"
)

// InitialWindow is how many attempts a webhook may have in flight once
// its receiver has answered (windows), or its share when smaller. Before,
// it may have one.
const InitialWindow = 4

// SlowAnswer is how long a receiver's answers take, on average, for its
// webhook to count as slow (windows).
const SlowAnswer = time.Second

// windows adapts, by webhook, how many of its attempts this dispatcher
// may have in flight at once (hookd.ClaimRequest.Windows), within the
// webhook's share.
//
// A share alone (a quarter of the workers) lets four receivers that hang,
// or that answer just within the timeout, fill every worker: a healthy
// webhook's events then wait for their attempts to end. So a webhook earns
// its workers by answering:
//   - until its receiver has answered this dispatcher (a success) since
//     its window was made (or last forgotten), or after an attempt ran
//     into its timeout, the webhook is not trusted: it may have one
//     attempt in flight;
//   - trusted, its window starts at InitialWindow, and grows by one with
//     each success during which the window was full: this dispatcher ran
//     as many of the webhook's attempts as the window allows, or a claim
//     held some of its deliveries back for the window
//     (hookd.Claimed.HeldBack). A receiver that answers, with deliveries
//     waiting, doubles its window every round trip, up to its share;
//   - an attempt that runs into its timeout halves the window, and takes
//     the trust away until the next success.
//
// And since many receivers may hang at once (a hosting provider's outage,
// among 10,000 endpoints), and a hostile one may answer just within the
// timeout, the webhooks limited (not trusted, or slow: their attempts take
// SlowAnswer or more on average, unless an admin set their max_in_flight)
// together hold at most half of this dispatcher's workers (limitedBudget;
// a claim and a hand-off planned at once may pass it by a few). The
// webhooks whose receivers answer quickly keep the other half. Of the
// limited half, the suspects hold at most half (suspectBudget): the slow,
// and the failing: not trusted, and the latest attempt this dispatcher
// saw failed, or, before it saw any (restarted, or one of several
// processes), the latest recorded (hookd.WindowAsk.Failing). So the
// webhooks not heard from yet (a new one's first delivery, its test
// delivery; after a restart, every webhook that was not failing) keep at
// least a quarter of the workers beside the receivers known to hang (with
// 4 workers or more; a claim and a hand-off planned at once may pass a
// budget by a few).
//
// Each dispatcher keeps its own windows, over its own attempts: on a
// database shared by several processes, each may hold a webhook's window,
// and the share (counted over every process) bounds them together.
//
// A receiver that hangs therefore holds one worker of each process, or
// what its webhook had earned, until its attempts time out. What remains:
//   - a webhook that earned its whole share (a backlog once, a replay) and
//     then hangs holds it for one timeout;
//   - receivers that answer just under SlowAnswer earn their shares, so
//     four of them keep every worker busy, and the other webhooks'
//     attempts wait up to about that long for one;
//   - while the suspects' quarter is full (more receivers failing slowly
//     than a quarter of the workers: an outage), a failing webhook's
//     delivery, a test delivery to one or a circuit's probe waits for one
//     of those attempts to end: up to one timeout; so do the webhooks not
//     heard from yet while the rest of the limited half is full of
//     receivers that hang and were not known to (an outage that began
//     during a restart, or new webhooks created together by a hostile
//     admin).
//
// A window does not shrink when its webhook's need falls: shrinking by one
// with each success that used at most half the window (tried) sent a busy
// webhook's bursts of publishes to claims instead of hand-offs, for a
// tenth more CPU.
//
// Windows live in the process: a restarted dispatcher trusts no webhook,
// and knows the failing ones from the store. A window that no plan (a
// claim's or a hand-off's) has asked for, and no attempt has begun in, for
// forgetAfter, and with no attempt in flight, is forgotten (its webhook
// deleted, or quiet): so the windows kept follow the webhooks at work, not
// every webhook the process has ever served.
type windows struct {
	mu sync.Mutex
	// of holds the webhooks with attempts in flight, trusted, failing (here
	// or on record), or with a window other than InitialWindow, until
	// forgotten.
	of map[int64]*window
	// limited counts the attempts in flight that began while their
	// webhook was limited, suspects those of them that began while it was
	// a suspect; limitedBudget and suspectBudget bound them.
	limited, limitedBudget  int
	suspects, suspectBudget int
	slowAnswer              time.Duration // SlowAnswer; tests set their own
	clock                   hookd.Clock
	swept                   time.Time // when forget last ran
}

// forgetAfter is how long a window may go unused before it is forgotten;
// Sizes looks for such windows every tenth of it. A webhook quiet that
// long starts again as one not heard from: one attempt until it answers.
const forgetAfter = 10 * time.Minute

type window struct {
	size     int // while trusted
	share    int // the share the last claim gave: the most size grows to (0: not known yet)
	inFlight int // this dispatcher's attempts running
	// fills counts the times the window was found full: an attempt that
	// filled it, or a claim that it held back.
	fills uint64
	// trusted is set by a success and cleared by a timeout.
	trusted bool
	// failing is set by a timeout or a failure while not trusted, and
	// cleared by a success.
	failing bool
	// failingOnRecord is hookd.WindowAsk.Failing, as the last claim gave
	// it: it counts while this dispatcher has not heard from the receiver
	// (neither trusted nor failing).
	failingOnRecord bool
	// maxInFlightSet is hookd.WindowAsk.MaxInFlightSet, as the last claim
	// gave it.
	maxInFlightSet bool
	// answer is the average time of the attempts, answered or not, recent
	// ones weighing most: a receiver that answers errors slowly is slow
	// too.
	answer time.Duration
	// used is when a plan last asked for it, or an attempt of it began.
	used time.Time
}

// limit is how many attempts w allows in flight.
func (w *window) limit() int {
	if !w.trusted {
		return 1
	}
	return w.size
}

// isSlow reports whether w's receiver answers slowly, unless an admin set
// its max_in_flight (which says how much its receiver takes).
func (ws *windows) isSlow(w *window) bool {
	return w.answer >= ws.slowAnswer && !w.maxInFlightSet
}

// isLimited reports whether w's attempts count in windows.limited: while
// not trusted, or slow.
func (ws *windows) isLimited(w *window) bool {
	return !w.trusted || ws.isSlow(w)
}

// isSuspect reports whether w's attempts count in windows.suspects too:
// while failing (so not trusted), or slow; either way it is limited.
func (ws *windows) isSuspect(w *window) bool {
	return w.failing || (!w.trusted && w.failingOnRecord) || ws.isSlow(w)
}

// windowTicket is what ended needs of an attempt's start.
type windowTicket struct {
	fills   uint64 // window.fills before it
	trusted bool   // the webhook was trusted then
	limited bool   // the attempt counts in windows.limited
	suspect bool   // and in windows.suspects
}

// newWindows returns the windows of a dispatcher of workers workers that
// reads the time from clock.
func newWindows(workers int, clock hookd.Clock) *windows {
	return &windows{of: map[int64]*window{}, limitedBudget: max(1, workers/2), suspectBudget: max(1, workers/4),
		slowAnswer: SlowAnswer, clock: clock}
}

// get returns id's window, creating it. ws.mu is held.
func (ws *windows) get(id int64) *window {
	w := ws.of[id]
	if w == nil {
		w = &window{size: InitialWindow}
		ws.of[id] = w
	}
	w.used = ws.clock.Now()
	return w
}

// forget drops the windows unused for forgetAfter at now that have no
// attempt in flight, at most once every tenth of forgetAfter. ws.mu is
// held.
func (ws *windows) forget(now time.Time) {
	if now.Sub(ws.swept) < forgetAfter/10 {
		return
	}
	ws.swept = now
	for id, w := range ws.of {
		if w.inFlight == 0 && now.Sub(w.used) >= forgetAfter {
			delete(ws.of, id)
		}
	}
}

// Sizes returns the windows of the webhooks asked (hookd.Windows), as
// PlanClaim counts them: a webhook's attempts in flight in every process,
// and as many more as it wants and this dispatcher's window for it allows
// beyond its own attempts running (one while not trusted); for a limited
// webhook, no more than the attempts of limited webhooks, with those this
// plan may start, leave of this dispatcher's half of its workers (of its
// quarter, for a suspect). So each process caps its own attempts, and
// several processes may each hold a webhook's window, within its share.
func (ws *windows) Sizes(asks []hookd.WindowAsk) []int {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	now := ws.clock.Now()
	out := make([]int, len(asks))
	budget, suspectBudget := ws.limitedBudget-ws.limited, ws.suspectBudget-ws.suspects
	for i, a := range asks {
		size, running, limited, suspect := 1, 0, true, false
		w := ws.of[a.WebhookID]
		if w == nil && a.Failing {
			w = ws.get(a.WebhookID) // so that its attempts count as a suspect's
		}
		if w != nil {
			w.share, w.maxInFlightSet, w.failingOnRecord, w.used = a.Share, a.MaxInFlightSet, a.Failing, now
			size, running, limited, suspect = w.limit(), w.inFlight, ws.isLimited(w), ws.isSuspect(w)
		}
		more := min(min(size, a.Share)-running, a.Wants)
		if limited {
			more = max(0, min(more, budget))
			if suspect {
				more = max(0, min(more, suspectBudget))
				suspectBudget -= more
			}
			budget -= more
		}
		out[i] = a.InFlight + max(0, more)
	}
	ws.forget(now) // after the asked windows are marked used
	return out
}

// heldBack notes that the webhooks ids want more than their windows
// (hookd.Claimed.HeldBack). It only matters to a trusted webhook's window,
// which the plan that held it back has just asked for, so it creates none.
func (ws *windows) heldBack(ids []int64) {
	if len(ids) == 0 {
		return
	}
	ws.mu.Lock()
	defer ws.mu.Unlock()
	for _, id := range ids {
		if w := ws.of[id]; w != nil {
			w.fills++
		}
	}
}

// started counts an attempt of webhook id that begins.
func (ws *windows) started(id int64) windowTicket {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	w := ws.get(id)
	t := windowTicket{fills: w.fills, trusted: w.trusted, limited: ws.isLimited(w)}
	t.suspect = t.limited && ws.isSuspect(w)
	if t.limited {
		ws.limited++
	}
	if t.suspect {
		ws.suspects++
	}
	w.inFlight++
	if w.inFlight >= w.limit() {
		w.fills++
	}
	return t
}

// ended uncounts an attempt of webhook id, started with ticket t, and
// adapts the window to its result r (nil: the attempt was not made, or is
// not recorded).
func (ws *windows) ended(id int64, t windowTicket, r *hookd.AttemptResult) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if t.limited {
		ws.limited--
	}
	if t.suspect {
		ws.suspects--
	}
	w := ws.of[id]
	if w == nil {
		return
	}
	w.inFlight--
	if r != nil {
		if w.answer == 0 {
			w.answer = r.Duration
		} else {
			w.answer += (r.Duration - w.answer) / 4
		}
	}
	switch {
	case r == nil:
	case r.ErrorClass == hookd.ClassTimeout:
		w.size, w.trusted, w.failing = max(1, w.size/2), false, true
	case !r.Success:
		w.failing = !w.trusted
	case !w.trusted:
		w.trusted, w.failing = true, false
	case t.trusted && w.fills > t.fills && (w.share == 0 || w.size < w.share):
		w.size++
	}
	if w.inFlight == 0 && !w.trusted && !w.failing && !w.failingOnRecord && w.size == InitialWindow {
		delete(ws.of, id)
	}
}
