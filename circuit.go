package hookd

import "time"

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
