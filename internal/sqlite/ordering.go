package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/hookd/hookd"
)

// Ordered delivery (hookd.Ordering): a lane's deliveries wait at
// hookd.LaneBlocked but one, its head. The single writer makes each
// transaction that queues, finishes or requeues lane deliveries see every
// other's, so unblocking needs no lock here.

// promoteLanesSQL unblocks the oldest blocked delivery (at ?2) of each
// lane in ?3, a JSON array of [webhook id, lane], that has no delivery left
// that is not blocked: due at ?1, or parked at ?4 while its webhook is
// disabled (hookd.ParkedUntil). One descent of deliveries_lane for each
// probe (two ranges, not a <>, which would read the blocked ones).
const promoteLanesSQL = `UPDATE deliveries
	SET next_attempt_at = CASE WHEN (SELECT w.disabled FROM webhooks w WHERE w.id = deliveries.webhook_id) THEN ?4 ELSE ?1 END
	WHERE id IN (
		SELECT (SELECT b.id FROM deliveries b INDEXED BY deliveries_lane
		        WHERE b.webhook_id = l.value ->> 0 AND b.lane = l.value ->> 1 AND b.state = 'pending'
		          AND b.next_attempt_at = ?2
		        ORDER BY b.id LIMIT 1)
		FROM json_each(?3) l
		WHERE NOT EXISTS (SELECT 1 FROM deliveries h INDEXED BY deliveries_lane
		                  WHERE h.webhook_id = l.value ->> 0 AND h.lane = l.value ->> 1 AND h.state = 'pending'
		                    AND h.next_attempt_at < ?2)
		  AND NOT EXISTS (SELECT 1 FROM deliveries h INDEXED BY deliveries_lane
		                  WHERE h.webhook_id = l.value ->> 0 AND h.lane = l.value ->> 1 AND h.state = 'pending'
		                    AND h.next_attempt_at > ?2))`

// lanes collects the lanes a transaction may have left without a head.
type lanes map[[2]int64]struct{}

func (l lanes) add(webhookID int64, lane sql.NullInt64) {
	if lane.Valid {
		l[[2]int64{webhookID, lane.Int64}] = struct{}{}
	}
}

// lanesOf runs query, whose rows are (webhook id, lane), and returns their
// lanes and how many rows there were.
func lanesOf(ctx context.Context, tx *sql.Tx, query string, args ...any) (lanes, int, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	l, n := lanes{}, 0
	for ; rows.Next(); n++ {
		var webhook int64
		var lane sql.NullInt64
		if err := rows.Scan(&webhook, &lane); err != nil {
			return nil, 0, err
		}
		l.add(webhook, lane)
	}
	return l, n, rows.Err()
}

// join puts a new delivery to webhookID in its lane, when it has one
// (ordered): it is queued blocked, until promote. It returns when the
// delivery is due and its lane.
func (l lanes) join(webhookID int64, now time.Time, lane int64, ordered bool) (due int64, stored sql.NullInt64) {
	if !ordered {
		return ms(now), stored
	}
	stored = sql.NullInt64{Int64: lane, Valid: true}
	l.add(webhookID, stored)
	return ms(hookd.LaneBlocked), stored
}

// promote unblocks the oldest delivery of each of the lanes left without a
// head (promoteLanesSQL), due at now or parked, and says whether it did:
// the caller then wakes the claims up once it commits.
func (s *Store) promote(ctx context.Context, tx *sql.Tx, l lanes, now time.Time) (bool, error) {
	if len(l) == 0 {
		return false, nil
	}
	list := make([][2]int64, 0, len(l))
	for k := range l {
		list = append(list, k)
	}
	arg, err := json.Marshal(list)
	if err != nil {
		return false, err
	}
	st, err := s.prepared(ctx, tx, promoteLanesSQL)
	if err != nil {
		return false, err
	}
	res, err := st.ExecContext(ctx, ms(now), ms(hookd.LaneBlocked), string(arg), ms(hookd.ParkedUntil))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// releaseLanes unblocks every blocked delivery of webhook id, which is no
// longer ordered: due at now, or parked if it is disabled.
func releaseLanes(ctx context.Context, tx *sql.Tx, id int64, now time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE deliveries
		SET next_attempt_at = CASE WHEN (SELECT disabled FROM webhooks WHERE id = ?1) THEN ?2 ELSE ?3 END
		WHERE webhook_id = ?1 AND state = 'pending' AND next_attempt_at = ?4`,
		id, ms(hookd.ParkedUntil), ms(now), ms(hookd.LaneBlocked))
	return err
}
