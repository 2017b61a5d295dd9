package delivery

import (
	"context"
	"log/slog"
	"time"

	"github.com/hookd/hookd"
)

// MaintenanceLeader is the name of the lead that Maintain takes for each
// round.
const MaintenanceLeader = "maintenance"

// maintainer runs the housekeeping rounds, each under the maintenance lead.
type maintainer struct {
	store    hookd.Store
	leader   hookd.Leader // nil: this process leads every round
	clock    hookd.Clock
	log      *slog.Logger
	observer Observer
}

// Retention is how long the history is kept.
type Retention struct {
	// History: attempts, finished deliveries and events (Store.Prune).
	History time.Duration
	// Payloads: event data and logged response bodies, their metadata
	// kept (Store.ClearPayloads). Useful when shorter than History.
	Payloads time.Duration
}

// Maintain runs the housekeeping every interval until ctx ends, first at
// once: it prunes attempts, finished deliveries and events older than
// r.History (Store.Prune), clears the payloads older than r.Payloads
// (Store.ClearPayloads), and disables webhooks whose deliveries have
// failed without a success for disableAfter (Store.DisableFailing). A zero
// duration skips its task.
//
// Processes that share a database take turns: each round runs only in the
// process that wins the lead called MaintenanceLeader (Config.Leader) for
// that round, and releases it after; the others skip the round. So
// maintenance never runs in two processes at once, and runs up to once per
// interval in each process (its tasks are idempotent).
func (d *Dispatcher) Maintain(ctx context.Context, every time.Duration, r Retention, disableAfter time.Duration) {
	if every <= 0 {
		every = time.Hour
	}
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	for {
		d.maintainer.round(ctx, r, disableAfter)
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// round runs one round of maintenance if this process wins its lead.
func (m *maintainer) round(ctx context.Context, r Retention, disableAfter time.Duration) {
	if m.leader != nil {
		release, ok, err := m.leader.TryLead(ctx, MaintenanceLeader)
		switch {
		case err != nil:
			if ctx.Err() == nil {
				m.log.Warn("maintenance skipped: electing its leader failed", "err", err)
			}
			return
		case !ok:
			m.log.Debug("maintenance skipped: another process leads this round")
			return
		}
		defer release()
	}
	now := m.clock.Now()
	if r.History > 0 {
		n, err := m.store.Prune(ctx, now.Add(-r.History))
		switch {
		case err != nil && ctx.Err() == nil:
			m.log.Error("pruning old attempts and events", "err", err)
		case err == nil && n > 0:
			m.log.Info("pruned old attempts and events", "rows", n, "retention", r.History)
		}
	}
	if r.Payloads > 0 {
		n, err := m.store.ClearPayloads(ctx, now.Add(-r.Payloads))
		switch {
		case err != nil && ctx.Err() == nil:
			m.log.Error("clearing old payloads", "err", err)
		case err == nil && n > 0:
			m.log.Info("cleared old payloads", "rows", n, "payload_retention", r.Payloads)
		}
	}
	if disableAfter > 0 {
		ids, err := m.store.DisableFailing(ctx, now.Add(-disableAfter))
		switch {
		case err != nil && ctx.Err() == nil:
			m.log.Error("disabling failing webhooks", "err", err)
		case err == nil && len(ids) > 0:
			m.log.Warn("disabled webhooks failing for too long", "webhooks", ids, "failing_for", disableAfter)
			if m.observer != nil {
				m.observer.WebhooksDisabled(DisabledFailing, ids)
			}
		}
	}
}
