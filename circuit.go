package hookd

import (
	"fmt"
	"slices"
	"time"
)

// CircuitState is where a webhook's circuit breaker stands.
type CircuitState string

// The states of a circuit.
const (
	// CircuitClosed: deliveries go out as usual.
	CircuitClosed CircuitState = "closed"
	// CircuitOpen: the receiver kept failing; its due deliveries wait,
	// using neither workers nor attempts, until ProbeAt.
	CircuitOpen CircuitState = "open"
	// CircuitHalfOpen: one probe attempt is out; its result closes the
	// circuit or opens it again.
	CircuitHalfOpen CircuitState = "half_open"
)

// Circuit is a webhook's circuit breaker, kept by the store with the
// webhook and shared by every process.
type Circuit struct {
	State CircuitState
	// Failures is the run of consecutive failures that count toward
	// opening (timeouts, connection errors, 5xx).
	Failures int
	// Opens is how many times in a row the circuit opened without a
	// success between: each cool-down is longer than the last.
	Opens int
	// OpenedAt is when the circuit last opened; nil when closed.
	OpenedAt *time.Time
	// ProbeAt is, when open, when one probe attempt may go out; when half
	// open, when the probe counts as lost (its worker died) and another
	// may go out. Nil when closed.
	ProbeAt *time.Time
	// AnsweredAt is when the latest attempt began that the receiver
	// answered (CircuitAnswered) while closed: a failure of an attempt
	// begun before it was overtaken by it and does not count.
	AnsweredAt *time.Time
}

// Claimable returns how many of the webhook's due deliveries a claim at now
// may take as far as the circuit goes (-1: no limit), and the circuit as
// the claim leaves it. An open circuit whose cool-down is over, or a half
// open one whose probe was lost, lets one delivery through as the probe
// and is half open until probeLease has passed.
func (c Circuit) Claimable(now time.Time, probeLease time.Duration) (int, Circuit) {
	switch {
	case c.State == "" || c.State == CircuitClosed:
		return -1, c
	case c.ProbeAt != nil && c.ProbeAt.After(now):
		return 0, c
	}
	until := now.Add(probeLease)
	c.State, c.ProbeAt = CircuitHalfOpen, &until
	return 1, c
}

// The default circuit policy (DefaultCircuitPolicy).
const (
	DefaultCircuitFailures    = 5
	DefaultCircuitCooldown    = 30 * time.Second
	DefaultCircuitMaxCooldown = 10 * time.Minute
)

// DefaultCircuitPolicy is the policy of a store opened without one.
var DefaultCircuitPolicy = CircuitPolicy{
	Failures: DefaultCircuitFailures, Cooldown: DefaultCircuitCooldown, MaxCooldown: DefaultCircuitMaxCooldown,
}

// CircuitPolicy is when a webhook's circuit opens and how long it stays
// open. Stores are given it at Open and apply it in Complete.
type CircuitPolicy struct {
	// Failures is how many failures that count (CircuitCounts), one after
	// the other, open the circuit; 0 never opens it.
	Failures int
	// Cooldown is how long the circuit stays open the first time; each
	// open that follows without a success between doubles it, up to
	// MaxCooldown: a receiver that stays down costs one probe per
	// MaxCooldown, one that comes back is found again within Cooldown.
	Cooldown, MaxCooldown time.Duration
}

// Validate reports a policy that cannot work.
func (p CircuitPolicy) Validate() error {
	switch {
	case p.Failures < 0:
		return fmt.Errorf("circuit failures %d: use 0 (never open) or more", p.Failures)
	case p.Cooldown < time.Second:
		return fmt.Errorf("circuit cool-down %s: use at least 1s", p.Cooldown)
	case p.MaxCooldown < p.Cooldown:
		return fmt.Errorf("circuit maximum cool-down %s: use at least the cool-down (%s)", p.MaxCooldown, p.Cooldown)
	}
	return nil
}

// cooldown is how long the circuit stays open when it opens for the
// opens-th time in a row (1 for the first).
func (p CircuitPolicy) cooldown(opens int) time.Duration {
	d := p.Cooldown
	for i := 1; i < opens && d < p.MaxCooldown; i++ {
		d *= 2
	}
	return min(d, p.MaxCooldown)
}

// CircuitEffect is what an attempt's result tells the circuit.
type CircuitEffect int

// The effects of a result on the circuit.
const (
	// CircuitIgnores: the result says nothing about the receiver (hookd
	// refused the address, or failed itself).
	CircuitIgnores CircuitEffect = iota
	// CircuitAnswered: the receiver is up: it accepted the delivery, or
	// refused it with an answer of its own (a 4xx other than 408 and 429,
	// a redirect, 410 Gone). It ends a run of failures, and a probe with
	// this answer closes the circuit.
	CircuitAnswered
	// CircuitCounts: the receiver is down or overloaded: a timeout, a
	// connection refused, reset or failed, DNS, TLS, a 5xx, 408, 429, an
	// informational (1xx) or oversized answer, and any class not named
	// here. It counts toward opening the circuit.
	CircuitCounts
)

// CircuitEffectOf is what the attempt run (with its error class) tells a
// webhook's circuit. A failure counts unless its class says the receiver
// answered or hookd itself stopped it, so that a new kind of failure
// counts.
func CircuitEffectOf(success bool, status int, errorClass string) CircuitEffect {
	switch {
	case success:
		return CircuitAnswered
	case errorClass == ClassForbidden || errorClass == ClassInternal:
		return CircuitIgnores
	case errorClass == ClassRedirect || errorClass == ClassGone:
		return CircuitAnswered
	case errorClass == ClassStatus && status >= 400 && status < 500 && status != 408 && status != 429:
		return CircuitAnswered
	}
	return CircuitCounts
}

// RecordAll returns c after the attempts runs of one batch, recorded in
// the order they were made (as given for equal times), with p; now is when
// they are recorded, the time an open circuit opens at.
func (c Circuit) RecordAll(p CircuitPolicy, runs []RecordedRun, now time.Time) Circuit {
	runs = slices.Clone(runs)
	slices.SortStableFunc(runs, func(a, b RecordedRun) int { return a.Run.At.Compare(b.Run.At) })
	for _, r := range runs {
		c = c.Record(p, r, now)
	}
	return c
}

// Record returns c after the attempt run, recorded at now with p.
//
// Results come from several workers, and a slow attempt reports after a
// quicker one made later, so an attempt counts by when it began (Run.At):
//   - closed: a failure that counts adds to the run of failures unless it
//     began before the latest answer (AnsweredAt); the run reaching
//     p.Failures opens the circuit for the next cool-down (ProbeAt). An
//     answer from an attempt begun after AnsweredAt ends the run.
//   - open or half open: only attempts begun after the circuit opened
//     count (those before it are the failures that opened it, or overtaken
//     by them): an answer closes the circuit and forgets its opens; a
//     failure of the half open circuit's probe opens it again, for a
//     cool-down twice as long. Failures while open change nothing.
func (c Circuit) Record(p CircuitPolicy, run RecordedRun, now time.Time) Circuit {
	effect := CircuitEffectOf(run.Run.Success, run.Run.HTTPStatus, run.ErrorClass)
	at := run.Run.At
	if effect == CircuitIgnores {
		return c
	}
	if c.State == CircuitOpen || c.State == CircuitHalfOpen {
		switch {
		case c.OpenedAt != nil && at.Before(*c.OpenedAt):
		case effect == CircuitAnswered:
			return Circuit{State: CircuitClosed, AnsweredAt: &at}
		case c.State == CircuitHalfOpen:
			return c.open(p, now)
		}
		return c
	}
	if c.AnsweredAt != nil && at.Before(*c.AnsweredAt) {
		return c
	}
	if effect == CircuitAnswered {
		c.Failures, c.AnsweredAt = 0, &at
		return c
	}
	c.Failures++
	if p.Failures > 0 && c.Failures >= p.Failures {
		return c.open(p, now)
	}
	return c
}

// open returns c opened at now for its next cool-down.
func (c Circuit) open(p CircuitPolicy, now time.Time) Circuit {
	c.Opens++
	probe := now.Add(p.cooldown(c.Opens))
	c.State, c.OpenedAt, c.ProbeAt = CircuitOpen, &now, &probe
	return c
}

// CircuitChange is a circuit that Store.Complete opened or closed: the
// webhook's id and its circuit after the change.
type CircuitChange struct {
	WebhookID int64
	Circuit   Circuit
}

// CircuitChanged returns the change to tell when recording turned webhook
// webhookID's circuit was into is: it opened (again) or it closed. ok is
// false for no change.
func CircuitChanged(webhookID int64, was, is Circuit) (change CircuitChange, ok bool) {
	return CircuitChange{WebhookID: webhookID, Circuit: is}, was.State != is.State
}

// CircuitObserver is told, by a store that committed them, of the circuits
// its Complete opened or closed (logs and metrics). It must be quick.
type CircuitObserver func(CircuitChange)

// ProbeNow returns the circuit with its probe due at now, and true, when it
// is open and its probe was due later: an admin who knows the receiver is
// back need not wait out the cool-down. The probe is still one attempt,
// whose result closes the circuit or opens it again. A closed circuit, a
// half open one (its probe is out) and an open one whose probe is due
// already are returned as they are, with false.
func (c Circuit) ProbeNow(now time.Time) (Circuit, bool) {
	if c.State != CircuitOpen || (c.ProbeAt != nil && !c.ProbeAt.After(now)) {
		return c, false
	}
	c.ProbeAt = &now
	return c, true
}
