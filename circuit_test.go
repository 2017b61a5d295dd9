package hookd

import (
	"testing"
	"time"
)

func TestCircuitClaimable(t *testing.T) {
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	later, earlier := now.Add(time.Second), now.Add(-time.Second)
	lease := 20 * time.Second
	for _, c := range []struct {
		name  string
		in    Circuit
		n     int
		state CircuitState
	}{
		{"closed", Circuit{State: CircuitClosed}, -1, CircuitClosed},
		{"zero value", Circuit{}, -1, ""},
		{"open, cooling down", Circuit{State: CircuitOpen, ProbeAt: &later}, 0, CircuitOpen},
		{"open, cool-down over", Circuit{State: CircuitOpen, ProbeAt: &earlier}, 1, CircuitHalfOpen},
		{"open at now", Circuit{State: CircuitOpen, ProbeAt: &now}, 1, CircuitHalfOpen},
		{"probe out", Circuit{State: CircuitHalfOpen, ProbeAt: &later}, 0, CircuitHalfOpen},
		{"probe lost", Circuit{State: CircuitHalfOpen, ProbeAt: &earlier}, 1, CircuitHalfOpen},
	} {
		n, out := c.in.Claimable(now, lease)
		if n != c.n || out.State != c.state {
			t.Errorf("%s: Claimable = %d, %s; want %d, %s", c.name, n, out.State, c.n, c.state)
		}
		if n == 1 && !out.ProbeAt.Equal(now.Add(lease)) {
			t.Errorf("%s: probe until %v, want %v", c.name, out.ProbeAt, now.Add(lease))
		}
	}
}
