package postgres

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd"
)

// Ordered delivery (hookd.Ordering): a lane's deliveries wait at
// hookd.LaneBlocked but one, its head. A transaction that queues, finishes
// or requeues deliveries of a lane takes the lane's lock (a transaction
// advisory lock) before it unblocks the lane's next delivery, in a
// statement of its own after the lock: under READ COMMITTED that statement
// sees what every transaction that held the lock before committed, so an
// intake that queues behind a head and the Complete that finishes the head
// cannot each miss the other's row and leave the lane without a head.
// Lane locks are taken in one statement, in key order, so that two
// transactions cannot wait for each other's; a claim takes none.
//
// Promoting a head reads whether its webhook is disabled, to park it
// (hookd.ParkedUntil), so the lanes' webhooks are locked first, FOR SHARE
// (lockWebhooksSQL): disabling one updates its row, which conflicts, so
// that a promotion cannot commit between the disabling's parking and its
// commit and leave a disabled webhook's delivery due. Shared, these locks
// let promotions of one webhook run side by side. The order of locks:
//   - webhooks, in one statement, in id order: FOR SHARE here, FOR NO KEY
//     UPDATE where a webhook is disabled or its health recorded
//     (UpdateWebhook, DisableFailing, Complete's healthSQL, which is why
//     Complete takes its lanes' locks alone: queueLaneLocks);
//   - then lanes, in key order;
//   - then the deliveries they guard.
// A transaction may hold other rows before its webhooks (a publish its new
// events, an erasure its events, FanOut its fan_outs row and events, a
// replay's chunk its replay): those that lock webhooks FOR NO KEY UPDATE
// never wait for such rows while they hold them, so no cycle forms.

// lockWebhooksSQL locks webhooks $1 FOR SHARE, in id order.
const lockWebhooksSQL = `SELECT FROM webhooks WHERE id = ANY($1) ORDER BY id FOR SHARE`

// lockLanesSQL takes the locks of the lanes ($1, $2: each lane's two keys,
// sorted), the pair form of advisory locks, whose keys never meet the
// single-key ones of migrations and leaders.
const lockLanesSQL = `SELECT pg_advisory_xact_lock(k1, k2)
	FROM unnest($1::int[], $2::int[]) WITH ORDINALITY AS t(k1, k2, ord) ORDER BY ord`

// promoteLanesSQL unblocks the oldest blocked delivery (at $3) of each lane
// of webhook $1[i] and lane $2[i] that has no delivery left that is not
// blocked (one descent of deliveries_lane for each probe: two ranges, not a
// <>, which would read the blocked ones): due at $4, or parked at $5 while
// its webhook, locked before (queueLock), is disabled (hookd.ParkedUntil).
// It wakes the claims of every process up when it did; a row comes back
// then. The state names the queue's partition (0016): without it, the
// update would lock every day of deliveries_done too, and deadlock with the
// maintenance that attaches a day.
const promoteLanesSQL = `
WITH promoted AS (
	UPDATE deliveries d
	SET next_attempt_at = CASE WHEN (SELECT w.disabled FROM webhooks w WHERE w.id = d.webhook_id)
	                           THEN $5::timestamptz ELSE $4::timestamptz END
	FROM unnest($1::bigint[], $2::bigint[]) AS l(webhook_id, lane)
	WHERE d.state = 'pending' AND d.id = (SELECT b.id FROM deliveries b
	              WHERE b.webhook_id = l.webhook_id AND b.lane = l.lane AND b.state = 'pending'
	                AND b.next_attempt_at = $3
	              ORDER BY b.id LIMIT 1)
	  AND NOT EXISTS (SELECT 1 FROM deliveries h
	                  WHERE h.webhook_id = l.webhook_id AND h.lane = l.lane AND h.state = 'pending'
	                    AND h.next_attempt_at < $3)
	  AND NOT EXISTS (SELECT 1 FROM deliveries h
	                  WHERE h.webhook_id = l.webhook_id AND h.lane = l.lane AND h.state = 'pending'
	                    AND h.next_attempt_at > $3)
	RETURNING 1
)
SELECT pg_notify('` + NotifyChannel + `', '') FROM (SELECT 1 FROM promoted LIMIT 1) x`

// lanes collects the lanes a transaction may have left without a head.
type lanes map[[2]int64]struct{}

func (l lanes) add(webhookID int64, lane *int64) {
	if lane != nil {
		l[[2]int64{webhookID, *lane}] = struct{}{}
	}
}

// join puts a new delivery to webhookID in its lane, when it has one
// (ordered): it is queued blocked, until queuePromote. It returns when the
// delivery is due and its lane.
func (l lanes) join(webhookID int64, now time.Time, lane int64, ordered bool) (due time.Time, stored *int64) {
	if !ordered {
		return now, nil
	}
	l.add(webhookID, &lane)
	return hookd.LaneBlocked, &lane
}

// queueLock queues into b the locks of l's webhooks (lockWebhooksSQL),
// then of l (queueLaneLocks): before the statements that queue a delivery
// into a lane, so that a lane's ids follow the order in which its
// deliveries were accepted, and before queuePromote's.
func (l lanes) queueLock(b *pgx.Batch) {
	webhooks := make([]int64, 0, len(l))
	for k := range l {
		webhooks = append(webhooks, k[0])
	}
	b.Queue(lockWebhooksSQL, webhooks)
	l.queueLaneLocks(b)
}

// queueLaneLocks queues the locks of l into b (lockLanesSQL), in a
// transaction that holds the rows of their webhooks already.
func (l lanes) queueLaneLocks(b *pgx.Batch) {
	keys := make([][2]int32, 0, len(l))
	for k := range l {
		keys = append(keys, [2]int32{fold(k[0]), fold(k[1])})
	}
	slices.SortFunc(keys, func(a, b [2]int32) int { return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1])) })
	keys = slices.Compact(keys)
	k1, k2 := make([]int32, len(keys)), make([]int32, len(keys))
	for i, k := range keys {
		k1[i], k2[i] = k[0], k[1]
	}
	b.Queue(lockLanesSQL, k1, k2)
}

// lockLanesOf takes the locks of the lanes of query's rows (webhook id,
// lane), their webhooks' first (queueLock), before the statement that
// changes their deliveries, and returns the lanes: changed first, a
// delivery could be the one that a transaction holding its lane's lock
// waits for to unblock it (promoteLanesSQL), and the two deadlock.
func lockLanesOf(ctx context.Context, tx pgx.Tx, query string, args ...any) (lanes, error) {
	l, _, err := lanesOf(ctx, tx, query, args...)
	if err != nil || len(l) == 0 {
		return l, err
	}
	b := &pgx.Batch{}
	l.queueLock(b)
	return l, tx.SendBatch(ctx, b).Close()
}

// lanesOf runs query, whose rows are (webhook id, lane), and returns their
// lanes and how many rows there were.
func lanesOf(ctx context.Context, tx pgx.Tx, query string, args ...any) (lanes, int, error) {
	rows, _ := tx.Query(ctx, query, args...)
	l := lanes{}
	var webhook int64
	var lane *int64
	tag, err := pgx.ForEachRow(rows, []any{&webhook, &lane}, func() error {
		l.add(webhook, lane)
		return nil
	})
	return l, int(tag.RowsAffected()), err
}

// queuePromote queues into b, which has taken their locks and their
// webhooks' before (queueLock), the unblocking of the oldest delivery of
// each of l's lanes left without a head (promoteLanesSQL), due at now or
// parked; *promoted, unless nil, is set when one was.
func (l lanes) queuePromote(b *pgx.Batch, now time.Time, promoted *bool) {
	hooks, ids := make([]int64, 0, len(l)), make([]int64, 0, len(l))
	for k := range l {
		hooks, ids = append(hooks, k[0]), append(ids, k[1])
	}
	b.Queue(promoteLanesSQL, hooks, ids, hookd.LaneBlocked, ms(now), hookd.ParkedUntil).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			if promoted != nil {
				*promoted = true
			}
		}
		return rows.Err()
	})
}

// fold folds a 64-bit key to the 32 bits of an advisory lock's key: keys
// that fold alike only share a lock.
func fold(k int64) int32 { return int32(k ^ k>>32) }

// releaseLanesSQL unblocks every blocked delivery (at $3) of webhook $1,
// which is no longer ordered: due at $2, or parked if it is disabled.
const releaseLanesSQL = `UPDATE deliveries
	SET next_attempt_at = CASE WHEN (SELECT disabled FROM webhooks WHERE id = $1) THEN $4::timestamptz ELSE $2::timestamptz END
	WHERE webhook_id = $1 AND state = 'pending' AND next_attempt_at = $3`
