package sqlite

import (
	"context"
	"database/sql"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hookd/hookd"
)

// deliveryColumns are the columns of a delivery d and its event e that
// scanDelivery reads; DeliveryLog orders by id and last_attempt_at.
const deliveryColumns = `d.id AS id, d.webhook_id, d.event_id, e.event, d.message_id, d.state, d.attempts,
	d.next_attempt_at, CASE WHEN d.leased_by IS NOT NULL THEN d.lease_until END,
	d.last_attempt_at AS last_attempt_at, d.created_at`

// DeliveryLog lists the webhook's attempted deliveries in states, latest
// attempt first: one SELECT per state, each a range of the
// deliveries_webhook index (webhook_id, state, last_attempt_at) read in its
// order, merged by a compound ORDER BY (MERGE (UNION ALL): no sort), which
// stops after offset+limit rows; then their attempts by the
// attempts_delivery index. "state IN (...)" made SQLite sort the webhook's
// whole history in those states for every page.
func (s *Store) DeliveryLog(ctx context.Context, webhookID int64, states []hookd.DeliveryState, page, perPage int) ([]*hookd.DeliveryRecord, error) {
	limit, offset := hookd.Page(page, perPage)
	now := s.clock.Now()
	query, args := deliveryLogQuery(webhookID, states, limit, offset)
	out := []*hookd.DeliveryRecord{}
	err := s.inReadTx(ctx, func(tx *sql.Tx) error {
		if err := webhookExists(ctx, tx, webhookID); err != nil {
			return err
		}
		if query == "" {
			return nil
		}
		rows, err := tx.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		byID := map[int64]*hookd.DeliveryRecord{}
		ids := []int64{}
		for rows.Next() {
			d, err := scanDelivery(rows, now)
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
			WHERE d.id = ? AND d.webhook_id = ?`, deliveryID, webhookID), s.clock.Now())
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

// deliveryLogQuery is DeliveryLog's statement and its arguments: a SELECT
// per state (each state once; none is no statement), merged latest attempt
// first. ?1 is the webhook, ?2 and ?3 the limit and offset, then the states.
func deliveryLogQuery(webhookID int64, states []hookd.DeliveryState, limit int, offset int64) (string, []any) {
	args := []any{webhookID, limit, offset}
	var arms []string
	for i, st := range states {
		if slices.Contains(states[:i], st) {
			continue
		}
		args = append(args, string(st))
		arms = append(arms, `SELECT `+deliveryColumns+`
			FROM deliveries d JOIN events e ON e.id = d.event_id
			WHERE d.webhook_id = ?1 AND d.state = ?`+strconv.Itoa(len(args))+` AND d.last_attempt_at IS NOT NULL`)
	}
	if len(arms) == 0 {
		return "", nil
	}
	return strings.Join(arms, "\n\t\tUNION ALL ") + `
			ORDER BY last_attempt_at DESC, id DESC LIMIT ?2 OFFSET ?3`, args
}

// scanDelivery reads a row of deliveryColumns at now. The next_attempt_at
// of a delivery in flight (hookd.QueueStats: leased, its lease not ended at
// now) is its lease's end, not a retry: it is not shown. Once the lease has
// ended, the delivery is due again then: it is shown.
func scanDelivery(sc interface{ Scan(...any) error }, now time.Time) (*hookd.DeliveryRecord, error) {
	var (
		d                 hookd.DeliveryRecord
		state             string
		next, lease, last sql.NullInt64
		createdMillis     int64
	)
	if err := sc.Scan(&d.ID, &d.WebhookID, &d.EventID, &d.Event, &d.MessageID, &state, &d.Attempts,
		&next, &lease, &last, &createdMillis); err != nil {
		return nil, err
	}
	d.State = hookd.DeliveryState(state)
	inFlight := lease.Valid && lease.Int64 > ms(now)
	if d.State == hookd.StatePending && !inFlight {
		d.NextAttemptAt = timePtr(next)
	}
	d.LastAttemptAt = timePtr(last)
	d.CreatedAt = fromMS(createdMillis)
	d.Log = []*hookd.LogEntry{}
	return &d, nil
}
