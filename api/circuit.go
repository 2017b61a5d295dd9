package api

// Circuit is a webhook's circuit breaker, read at
// /api/v2/admin/webhooks/:id/circuit. After a run of failed attempts
// (timeouts, connection errors, 5xx) the circuit opens: the webhook's due
// deliveries wait until NextProbeAt, when one probe attempt goes out; its
// success closes the circuit.
type Circuit struct {
	// State is closed, open or half_open (the probe is out).
	State string `json:"state"`
	// ConsecutiveFailures is the run of failures that count toward opening.
	ConsecutiveFailures int `json:"consecutive_failures"`
	// OpenedAt is when the circuit last opened; null when closed.
	OpenedAt *Time `json:"opened_at"`
	// NextProbeAt is when the probe may go out (when half open: when the
	// probe counts as lost and another may go); null when closed.
	NextProbeAt *Time `json:"next_probe_at"`
}

// CircuitResponse is the answer of GET .../circuit.
type CircuitResponse struct {
	Circuit Circuit `json:"circuit"`
}
