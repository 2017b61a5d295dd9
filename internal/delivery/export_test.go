package delivery

import (
	"strings"
	"time"
)

// Helpers that only the tests need.

// FormatSchedule is the inverse of ParseSchedule.
func FormatSchedule(schedule []time.Duration) string {
	parts := make([]string, len(schedule))
	for i, d := range schedule {
		parts[i] = d.String()
	}
	return strings.Join(parts, ",")
}

// MaxAttempts is the number of attempts a delivery gets.
func (p *Policy) MaxAttempts() int { return len(p.Schedule) + 1 }

// CloseIdleConnections closes the connections kept alive for reuse.
func (s *Sender) CloseIdleConnections() { s.transport.CloseIdleConnections() }

// WorkerID returns the name this dispatcher claims deliveries under (each
// claim as WorkerID/<claim number>).
func (d *Dispatcher) WorkerID() string { return d.claimer.worker }
