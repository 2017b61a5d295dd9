package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd"
)

// circuitColumns are a webhook's circuit (hookd.Circuit), in the order of
// storedCircuit.dest.
const circuitColumns = `circuit_state, circuit_failures, circuit_opens, circuit_opened_at, circuit_probe_at, circuit_answered_at`

// storedCircuit scans circuitColumns.
type storedCircuit struct {
	state                   string
	failures, opens         int
	opened, probe, answered *time.Time
}

func (c *storedCircuit) dest() []any {
	return []any{&c.state, &c.failures, &c.opens, &c.opened, &c.probe, &c.answered}
}

func (c *storedCircuit) circuit() hookd.Circuit {
	return hookd.Circuit{
		State: hookd.CircuitState(c.state), Failures: c.failures, Opens: c.opens,
		OpenedAt: c.opened, ProbeAt: c.probe, AnsweredAt: c.answered,
	}
}

// Circuit reads webhook id's circuit breaker.
func (s *Store) Circuit(ctx context.Context, id int64) (hookd.Circuit, error) {
	var c storedCircuit
	err := s.pool.QueryRow(ctx, `SELECT `+circuitColumns+` FROM webhooks WHERE id = $1`, id).Scan(c.dest()...)
	if errors.Is(err, pgx.ErrNoRows) {
		return hookd.Circuit{}, fmt.Errorf("webhook %d: %w", id, hookd.ErrNotFound)
	}
	if err != nil {
		return hookd.Circuit{}, wrapErr(err)
	}
	return c.circuit(), nil
}

// ProbeCircuit makes an open circuit's probe due now, under the webhook's
// row lock, and tells every process's claims.
func (s *Store) ProbeCircuit(ctx context.Context, id int64) (hookd.Circuit, error) {
	now := ms(s.clock.Now())
	var out hookd.Circuit
	var probed bool
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var c storedCircuit
		err := tx.QueryRow(ctx, `SELECT `+circuitColumns+` FROM webhooks WHERE id = $1 FOR UPDATE`, id).Scan(c.dest()...)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("webhook %d: %w", id, hookd.ErrNotFound)
		}
		if err != nil {
			return err
		}
		out, probed = c.circuit().ProbeNow(now)
		if !probed {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE webhooks SET circuit_probe_at = $2 WHERE id = $1`, id, out.ProbeAt); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `SELECT pg_notify('`+NotifyChannel+`', '')`)
		return err
	})
	if err != nil {
		return hookd.Circuit{}, wrapErr(err)
	}
	if probed {
		s.wakeup()
	}
	return out, nil
}
