package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd"
)

// deliveryCols are the columns of a delivery d and its event e that
// scanDelivery reads.
const deliveryCols = `d.id, d.webhook_id, d.event_id, e.event, d.message_id, d.state, d.attempts,
	d.next_attempt_at, CASE WHEN d.leased_by IS NOT NULL THEN d.lease_until END, d.last_attempt_at, d.created_at`

// stateLiterals are the delivery states written into SQL: a partial index
// (state = 'failed') serves a query only when its state is a constant, even
// in a generic plan.
var stateLiterals = map[hookd.DeliveryState]string{
	hookd.StateSucceeded: "'succeeded'", hookd.StateFailed: "'failed'", hookd.StatePending: "'pending'",
}

// DeliveryLog lists the webhook's attempted deliveries in states, latest
// attempt first: the first page's worth of each state by its partial index
// (deliveries_webhook_succeeded, deliveries_webhook_failed,
// deliveries_webhook_due; "state = ANY(...)" would scan the table), merged,
// then their attempts (the attempts_delivery index).
func (s *Store) DeliveryLog(ctx context.Context, webhookID int64, states []hookd.DeliveryState, page, perPage int) ([]*hookd.DeliveryRecord, error) {
	limit, offset := hookd.Page(page, perPage)
	now := s.clock.Now()
	perState := make([]string, 0, len(states))
	for _, st := range states {
		lit, ok := stateLiterals[st]
		if !ok {
			return nil, fmt.Errorf("unknown delivery state %q", st)
		}
		perState = append(perState, `(SELECT id FROM deliveries WHERE webhook_id = $1 AND state = `+lit+`
			AND last_attempt_at IS NOT NULL ORDER BY last_attempt_at DESC, id DESC LIMIT $2)`)
	}
	if len(perState) == 0 {
		return []*hookd.DeliveryRecord{}, s.checkWebhook(ctx, webhookID)
	}
	rows, _ := s.pool.Query(ctx, `SELECT `+deliveryCols+`
		FROM deliveries d JOIN events e ON e.id = d.event_id
		WHERE d.id IN (`+strings.Join(perState, " UNION ALL ")+`)
		ORDER BY d.last_attempt_at DESC, d.id DESC LIMIT $3 OFFSET $4`, webhookID, int64(limit)+offset, limit, offset)
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*hookd.DeliveryRecord, error) {
		return scanDelivery(row, now)
	})
	if err != nil {
		return nil, wrapErr(err)
	}
	if len(out) == 0 {
		return out, s.checkWebhook(ctx, webhookID)
	}
	ids := make([]int64, len(out))
	byID := make(map[int64]*hookd.DeliveryRecord, len(out))
	for i, d := range out {
		ids[i] = d.ID
		byID[d.ID] = d
	}
	rows, _ = s.pool.Query(ctx, `SELECT `+attemptCols+` FROM attempts
		WHERE delivery_id = ANY($1) ORDER BY delivery_id, attempt, id`, ids)
	entries, err := pgx.CollectRows(rows, scanLogEntry)
	if err != nil {
		return nil, wrapErr(err)
	}
	for _, e := range entries {
		byID[e.DeliveryID].Log = append(byID[e.DeliveryID].Log, e)
	}
	return out, nil
}

// Delivery reads one delivery of the webhook with its log and its event, in
// one round trip.
func (s *Store) Delivery(ctx context.Context, webhookID, deliveryID int64) (*hookd.DeliveryRecord, *hookd.Event, error) {
	var (
		d     *hookd.DeliveryRecord
		ev    hookd.Event
		data  []byte
		found bool
	)
	now := s.clock.Now()
	b := &pgx.Batch{}
	b.Queue(`SELECT `+deliveryCols+`, e.project_id, e.user_id, e.data, e.created_at, e.trace_parent
		FROM deliveries d JOIN events e ON e.id = d.event_id
		WHERE d.id = $1 AND d.webhook_id = $2`, deliveryID, webhookID).Query(func(rows pgx.Rows) error {
		var err error
		for rows.Next() {
			found = true
			d, err = scanDelivery(rows, now, &ev.ProjectID, &ev.UserID, &data, &ev.CreatedAt, &ev.TraceParent)
			if err != nil {
				return err
			}
		}
		return rows.Err()
	})
	var log []*hookd.LogEntry
	b.Queue(`SELECT `+attemptCols+` FROM attempts WHERE delivery_id = $1 AND webhook_id = $2 ORDER BY attempt, id`,
		deliveryID, webhookID).Query(func(rows pgx.Rows) (err error) {
		log, err = pgx.CollectRows(rows, scanLogEntry)
		return err
	})
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, nil, wrapErr(err)
	}
	if !found {
		return nil, nil, fmt.Errorf("delivery %d of webhook %d: %w", deliveryID, webhookID, hookd.ErrNotFound)
	}
	ev.ID, ev.Event, ev.Data = d.EventID, d.Event, json.RawMessage(data)
	d.Log = log
	if d.Log == nil {
		d.Log = []*hookd.LogEntry{}
	}
	return d, &ev, nil
}

// scanDelivery reads a row of deliveryCols at now, then into extra. The
// next_attempt_at of a delivery in flight (hookd.QueueStats: leased, its
// lease not ended at now) is its lease's end, not a retry: it is not
// shown. Once the lease has ended, the delivery is due again then: it is
// shown.
func scanDelivery(row pgx.CollectableRow, now time.Time, extra ...any) (*hookd.DeliveryRecord, error) {
	var (
		d           hookd.DeliveryRecord
		state       string
		next, lease *time.Time
	)
	dest := append([]any{&d.ID, &d.WebhookID, &d.EventID, &d.Event, &d.MessageID, &state, &d.Attempts,
		&next, &lease, &d.LastAttemptAt, &d.CreatedAt}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	d.State = hookd.DeliveryState(state)
	inFlight := lease != nil && lease.After(now)
	if d.State == hookd.StatePending && !inFlight {
		d.NextAttemptAt = next
	}
	d.Log = []*hookd.LogEntry{}
	return &d, nil
}
