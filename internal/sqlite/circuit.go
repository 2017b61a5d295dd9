package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/hookd/hookd"
)

// circuitColumns are a webhook's circuit (hookd.Circuit), in the order of
// storedCircuit.dest.
const circuitColumns = `circuit_state, circuit_failures, circuit_opens, circuit_opened_at, circuit_probe_at, circuit_answered_at`

// storedCircuit scans circuitColumns.
type storedCircuit struct {
	state                   string
	failures, opens         int
	opened, probe, answered sql.NullInt64
}

func (c *storedCircuit) dest() []any {
	return []any{&c.state, &c.failures, &c.opens, &c.opened, &c.probe, &c.answered}
}

func (c *storedCircuit) circuit() hookd.Circuit {
	return hookd.Circuit{
		State: hookd.CircuitState(c.state), Failures: c.failures, Opens: c.opens,
		OpenedAt: timePtr(c.opened), ProbeAt: timePtr(c.probe), AnsweredAt: timePtr(c.answered),
	}
}

// circuitArgs are c's values for circuitColumns.
func circuitArgs(c hookd.Circuit) []any {
	return []any{string(c.State), c.Failures, c.Opens, nullMS(c.OpenedAt), nullMS(c.ProbeAt), nullMS(c.AnsweredAt)}
}

// Circuit reads webhook id's circuit breaker.
func (s *Store) Circuit(ctx context.Context, id int64) (hookd.Circuit, error) {
	var c storedCircuit
	err := s.r.QueryRowContext(ctx, `SELECT `+circuitColumns+` FROM webhooks WHERE id = ?`, id).Scan(c.dest()...)
	if errors.Is(err, sql.ErrNoRows) {
		return hookd.Circuit{}, fmt.Errorf("webhook %d: %w", id, hookd.ErrNotFound)
	}
	if err != nil {
		return hookd.Circuit{}, mapErr(err)
	}
	return c.circuit(), nil
}

// ProbeCircuit makes an open circuit's probe due now and wakes the claims.
func (s *Store) ProbeCircuit(ctx context.Context, id int64) (hookd.Circuit, error) {
	now := fromMS(ms(s.clock.Now()))
	var out hookd.Circuit
	var probed bool
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var c storedCircuit
		err := tx.QueryRowContext(ctx, `SELECT `+circuitColumns+` FROM webhooks WHERE id = ?`, id).Scan(c.dest()...)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("webhook %d: %w", id, hookd.ErrNotFound)
		}
		if err != nil {
			return err
		}
		out, probed = c.circuit().ProbeNow(now)
		if !probed {
			return nil
		}
		_, err = tx.ExecContext(ctx, `UPDATE webhooks SET circuit_probe_at = ? WHERE id = ?`, nullMS(out.ProbeAt), id)
		return err
	})
	if err != nil {
		return hookd.Circuit{}, err
	}
	if probed {
		s.notify()
	}
	return out, nil
}
