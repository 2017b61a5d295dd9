package metrics

import "github.com/hookd/hookd"

// CircuitChanged counts a circuit that opened or closed
// (hookd_circuit_transitions_total); it is a hookd.CircuitObserver.
func (m *Metrics) CircuitChanged(c hookd.CircuitChange) {
	m.circuits.WithLabelValues(string(c.Circuit.State)).Inc()
}
