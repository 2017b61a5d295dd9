package sqlite

import (
	"context"
	"database/sql"
	"strings"

	"github.com/hookd/hookd"
)

// deliveryColumns are the columns of a delivery d and its event e that
// scanDelivery reads.
const deliveryColumns = `d.id, d.webhook_id, d.event_id, e.event, d.message_id, d.state, d.attempts,
	d.next_attempt_at, d.leased_by, d.last_attempt_at, d.created_at`

// DeliveryLog lists the webhook's attempted deliveries in states, latest
// attempt first: a range of the deliveries_webhook index per state, then
// their attempts by the attempts_delivery index.
func (s *Store) DeliveryLog(ctx context.Context, webhookID int64, states []hookd.DeliveryState, page, perPage int) ([]*hookd.DeliveryRecord, error) {
	limit, offset := hookd.Page(page, perPage)
	args := []any{webhookID}
	for _, st := range states {
		args = append(args, string(st))
	}
	args = append(args, limit, offset)
	out := []*hookd.DeliveryRecord{}
	err := s.inReadTx(ctx, func(tx *sql.Tx) error {
		if err := webhookExists(ctx, tx, webhookID); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+deliveryColumns+`
			FROM deliveries d JOIN events e ON e.id = d.event_id
			WHERE d.webhook_id = ? AND d.state IN (`+placeholders(len(states))+`) AND d.last_attempt_at IS NOT NULL
			ORDER BY d.last_attempt_at DESC, d.id DESC LIMIT ? OFFSET ?`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		byID := map[int64]*hookd.DeliveryRecord{}
		ids := []int64{}
		for rows.Next() {
			d, err := scanDelivery(rows)
			if err != nil {
				return err
			}
			out = append(out, d)
			byID[d.ID] = d
			ids = append(ids, d.ID)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		attempts, err := tx.QueryContext(ctx, `SELECT `+attemptColumns+` FROM attempts
			WHERE delivery_id IN (SELECT value FROM json_each(?)) ORDER BY delivery_id, attempt, id`, int64s(ids))
		if err != nil {
			return err
		}
		entries, err := scanLogEntries(attempts)
		for _, e := range entries {
			byID[e.DeliveryID].Log = append(byID[e.DeliveryID].Log, e)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Delivery reads one delivery of the webhook, its log and its event.
func (s *Store) Delivery(ctx context.Context, webhookID, deliveryID int64) (*hookd.DeliveryRecord, *hookd.Event, error) {
	var (
		d  *hookd.DeliveryRecord
		ev *hookd.Event
	)
	err := s.inReadTx(ctx, func(tx *sql.Tx) error {
		var err error
		d, err = scanDelivery(tx.QueryRowContext(ctx, `SELECT `+deliveryColumns+`
			FROM deliveries d JOIN events e ON e.id = d.event_id
			WHERE d.id = ? AND d.webhook_id = ?`, deliveryID, webhookID))
		if err != nil {
			return notFound(err)
		}
		if ev, _, err = readEvent(ctx, tx, d.EventID); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+attemptColumns+` FROM attempts
			WHERE delivery_id = ? ORDER BY attempt, id`, deliveryID)
		if err != nil {
			return err
		}
		d.Log, err = scanLogEntries(rows)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return d, ev, nil
}

// scanDelivery reads a row of deliveryColumns. A leased delivery's
// next_attempt_at is its lease's end, not a retry: it is not shown.
func scanDelivery(sc interface{ Scan(...any) error }) (*hookd.DeliveryRecord, error) {
	var (
		d             hookd.DeliveryRecord
		state         string
		next, last    sql.NullInt64
		leased        sql.NullString
		createdMillis int64
	)
	if err := sc.Scan(&d.ID, &d.WebhookID, &d.EventID, &d.Event, &d.MessageID, &state, &d.Attempts,
		&next, &leased, &last, &createdMillis); err != nil {
		return nil, err
	}
	d.State = hookd.DeliveryState(state)
	if d.State == hookd.StatePending && !leased.Valid {
		d.NextAttemptAt = timePtr(next)
	}
	d.LastAttemptAt = timePtr(last)
	d.CreatedAt = fromMS(createdMillis)
	d.Log = []*hookd.LogEntry{}
	return &d, nil
}

// placeholders is n comma-separated ? markers.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
