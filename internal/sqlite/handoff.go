package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"maps"
	"slices"
	"time"

	"github.com/hookd/hookd"
)

// handoffCandidatesSQL reads the enabled webhooks of a JSON array of ids
// (?2) as claimCandidatesSQL does, but whether each has deliveries due at
// ?1 (0 or 1) in place of their count: hookd.PlanHandoff only asks whether
// any is due before a publish's own.
const handoffCandidatesSQL = `SELECT ` + candidateColumns + `,
	       EXISTS (SELECT 1 FROM deliveries d INDEXED BY deliveries_webhook_due
	        WHERE d.webhook_id = w.id AND d.state = 'pending' AND d.next_attempt_at <= ?1)
	FROM webhooks w LEFT JOIN webhook_claims wc ON wc.webhook_id = w.id
	WHERE w.id IN (SELECT value FROM json_each(?2)) AND NOT w.disabled`

// leasedDeliveriesInsert queues deliveries already leased (a publish's
// handoff): each row takes the webhook, the event, the message id, the end
// of the lease (which is when it is due again, as a claim sets it), now
// (created), the lease's name and the end of the lease again.
var leasedDeliveriesInsert = newValuesStatement(
	`INSERT INTO deliveries (webhook_id, event_id, message_id, state, attempts, next_attempt_at, created_at, leased_by, lease_until) VALUES `,
	"(?, ?, ?, 'pending', 0, ?, ?, ?, ?)", " RETURNING id, message_id", 128)

// leasing is what a publish leases of the deliveries it queues
// (hookd.PlanHandoff), as deliveryRowsOf adds them.
type leasing struct {
	req   hookd.ClaimRequest // the offer's
	until int64
	take  map[int64]int // by webhook, how many more to lease
	args  []any
	// queued are the leased deliveries by message id, their ids filled in
	// as their rows are inserted.
	queued map[string]*hookd.Delivery
}

// planHandoff offers h the deliveries fresh counts, reads their webhooks
// (once h took the offer: a publish that finds every worker busy reads
// nothing) and returns what the publish leases under the offer's request
// (hookd.HandoffCandidates, hookd.PlanHandoff), with the grants, which the
// caller writes (Store.serve); nil when h took no offer. The caller hands
// the leasing's request to h.Take when it is not nil, whatever follows.
func (s *Store) planHandoff(ctx context.Context, tx *sql.Tx, now time.Time, h hookd.Handoff, fresh map[int64]int) (*leasing, []hookd.ClaimGrant, error) {
	if h == nil || len(fresh) == 0 {
		return nil, nil, nil
	}
	n := 0
	for _, k := range fresh {
		n += k
	}
	req, ok := h.Offer(n)
	if !ok {
		return nil, nil, nil
	}
	l := &leasing{req: req, until: ms(now.Add(req.Lease)), take: map[int64]int{}, queued: map[string]*hookd.Delivery{}}
	ids, err := json.Marshal(slices.Sorted(maps.Keys(fresh)))
	if err != nil {
		return l, nil, err
	}
	st, err := s.prepared(ctx, tx, handoffCandidatesSQL)
	if err != nil {
		return l, nil, err
	}
	rows, err := st.QueryContext(ctx, ms(now), string(ids))
	if err != nil {
		return l, nil, err
	}
	candidates, err := scanCandidates(rows)
	if err != nil {
		return l, nil, err
	}
	grants := hookd.PlanHandoff(now, req, hookd.HandoffCandidates(candidates, fresh))
	for _, g := range grants {
		l.take[g.WebhookID] = g.Take
	}
	return l, grants, nil
}

// lease adds a leased delivery of e to webhookID if the plan leaves one to
// lease, and tells whether it did.
func (l *leasing) lease(webhookID int64, e *hookd.Event, messageID string, now time.Time) bool {
	if l == nil || l.take[webhookID] == 0 {
		return false
	}
	l.take[webhookID]--
	l.args = append(l.args, webhookID, e.ID, messageID, l.until, ms(now), l.req.Worker, l.until)
	l.queued[messageID] = &hookd.Delivery{WebhookID: webhookID, MessageID: messageID, Event: *e, CreatedAt: now}
	return true
}

// flush inserts the leased deliveries added since the last flush.
func (l *leasing) flush(ctx context.Context, s *Store, tx *sql.Tx) error {
	if l == nil || len(l.args) == 0 {
		return nil
	}
	err := leasedDeliveriesInsert.query(ctx, s, tx, l.args, func(rows *sql.Rows) error {
		var id int64
		var messageID string
		if err := rows.Scan(&id, &messageID); err != nil {
			return err
		}
		l.queued[messageID].ID = id
		return nil
	})
	l.args = l.args[:0]
	return err
}

// claimed returns the leased deliveries by id, as Claim does.
func (l *leasing) claimed() []*hookd.Delivery {
	if l == nil {
		return nil
	}
	out := make([]*hookd.Delivery, 0, len(l.queued))
	for _, d := range l.queued {
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b *hookd.Delivery) int { return cmp.Compare(a.ID, b.ID) })
	return out
}
