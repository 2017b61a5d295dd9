package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hookd/hookd"
)

// PublishEvents stores a batch of events and their deliveries in one
// transaction: the batch is accepted whole or not at all, and an accepted
// event's deliveries are queued by the same commit.
//
// Each event is matched in memory (hookd.Subscriptions, hookd.Webhook.Matches:
// the one place that defines matching), with the index of the
// subscriptions' version read inside the transaction, so a webhook
// disabled or deleted meanwhile cannot slip in.
//
// Events without an ID get one, and events without CreatedAt are stamped
// now; both are written back to the caller's events before the transaction,
// so that a caller retrying after an error sends the same ids and cannot
// publish an event twice.
func (s *Store) PublishEvents(ctx context.Context, events []*hookd.Event) ([]hookd.Published, error) {
	return s.PublishAndClaim(ctx, events, nil)
}

// PublishAndClaim is PublishEvents that leases, in the same transaction,
// the deliveries hookd.PlanHandoff gives h's offer: they are inserted
// leased, as a claim would leave them.
func (s *Store) PublishAndClaim(ctx context.Context, events []*hookd.Event, h hookd.Handoff) ([]hookd.Published, error) {
	if len(events) == 0 {
		return []hookd.Published{}, nil
	}
	if err := hookd.NormalizeAll(events, s.clock.Now()); err != nil {
		return nil, err
	}
	out := make([]hookd.Published, len(events))
	queued, deferred := 0, false
	var lease *leasing
	var claimed hookd.Claimed
	defer func() {
		if lease != nil {
			h.Take(lease.req, claimed)
		}
	}()
	early := s.subs.Prematch(events) // outside the write lock
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		subs, backlog, err := s.subscriptions(ctx, tx)
		if err != nil {
			return err
		}
		matches := early.With(subs, events)
		counts := make([]int, len(events))
		for i := range events {
			counts[i] = len(matches[i])
		}
		stored, err := s.insertEvents(ctx, tx, events, counts)
		if err != nil {
			return err
		}
		now := s.clock.Now()
		deliveries := s.newDeliveries(tx, subs, now)
		createNow := hookd.PlanFanOut(counts, backlog, s.fanOutChunk)
		var grants []hookd.ClaimGrant
		lease, grants, err = s.planHandoff(ctx, tx, now, h, freshDeliveries(subs, events[:createNow], stored, matches))
		if err != nil {
			return err
		}
		if err := s.serve(ctx, tx, now, grants); err != nil {
			return err
		}
		deliveries.lease = lease
		for i, e := range events {
			matched := matches[i]
			if !stored[i] {
				orig, count, err := readEvent(ctx, tx, e.ID)
				if err != nil {
					return err
				}
				if out[i], err = hookd.Republish(e, i, *orig, count); err != nil {
					return err
				}
				continue
			}
			if i < createNow {
				for _, webhookID := range matched {
					if err := deliveries.add(ctx, webhookID, e); err != nil {
						return err
					}
				}
				queued += len(matched)
			} else if len(matched) > 0 {
				if _, err := tx.ExecContext(ctx, `INSERT INTO fan_outs (event_id) VALUES (?)`, e.ID); err != nil {
					return err
				}
				deferred = true
			}
			if err := keepRegistry(ctx, tx, e, now); err != nil {
				return err
			}
			out[i] = hookd.Published{Event: *e, Deliveries: len(matched)}
		}
		if err := deliveries.done(ctx); err != nil {
			return err
		}
		if leased := lease.claimed(); len(leased) > 0 {
			version, err := s.targetsVersion(ctx, tx)
			if err != nil {
				return err
			}
			claimed = hookd.Claimed{Deliveries: leased, TargetsVersion: version}
		}
		return nil
	})
	if err != nil {
		claimed = hookd.Claimed{}
		return nil, err
	}
	if queued > len(claimed.Deliveries) {
		s.notify()
	}
	if deferred {
		s.wakeFanOut()
	}
	return out, nil
}

// freshDeliveries counts, by webhook, the deliveries that a publish queues
// of events due at once outside an ordered lane (hookd.PlanHandoff's
// fresh): those of the events stored and matched.
func freshDeliveries(subs *hookd.Subscriptions, events []*hookd.Event, stored []bool, matches [][]int64) map[int64]int {
	fresh := map[int64]int{}
	for i, e := range events {
		if !stored[i] {
			continue
		}
		for _, webhookID := range matches[i] {
			if _, ordered := subs.Lane(webhookID, e); !ordered {
				fresh[webhookID]++
			}
		}
	}
	return fresh
}

// wakeFanOut tells this process's FanOut that a commit left it work.
func (s *Store) wakeFanOut() {
	select {
	case s.fanOutWake <- struct{}{}:
	default:
	}
}

// FanOut creates the deliveries that publishes left to it
// (hookd.PlanFanOut), oldest event first, at most its chunk (hookd.FanOutChunk) in one
// transaction, to the webhooks that match each event now, and reports
// whether any remain.
func (s *Store) FanOut(ctx context.Context) (remaining bool, err error) {
	var pending bool
	if err := s.r.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM fan_outs)`).Scan(&pending); err != nil || !pending {
		return false, err
	}
	// spent is the chunk used: a delivery each, and one for an event that
	// creates none (erased, its webhooks gone), so that a backlog of those
	// is bounded too.
	spent, created := 0, 0
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		subs, _, err := s.subscriptions(ctx, tx)
		if err != nil {
			return err
		}
		deliveries := s.newDeliveries(tx, subs, s.clock.Now())
		for spent < s.fanOutChunk {
			var seq, after int64
			var eventID string
			var target, erased sql.NullInt64
			err := tx.QueryRowContext(ctx, `SELECT f.seq, f.event_id, f.after_webhook_id, f.webhook_id, e.erased_at
				FROM fan_outs f LEFT JOIN events e ON e.id = f.event_id ORDER BY f.seq LIMIT 1`).Scan(&seq, &eventID, &after, &target, &erased)
			if errors.Is(err, sql.ErrNoRows) {
				remaining = false
				break
			}
			if err != nil {
				return err
			}
			remaining = true
			// An event erased or pruned meanwhile has nothing left to send.
			var rest []int64
			add := deliveries.add
			e, _, err := readEvent(ctx, tx, eventID)
			switch {
			case err != nil && !errors.Is(err, hookd.ErrNotFound):
				return err
			case err != nil || erased.Valid:
			case target.Valid: // a PublishTo's, queued behind the fan-outs before it
				rest, add = []int64{target.Int64}, deliveries.addTo
			default:
				rest = hookd.AfterWebhook(subs.Match(e), after)
			}
			chunk := rest[:min(len(rest), s.fanOutChunk-spent)]
			for _, webhookID := range chunk {
				if err := add(ctx, webhookID, e); err != nil {
					return err
				}
			}
			created += len(chunk)
			spent += max(len(chunk), 1)
			if len(chunk) == len(rest) {
				_, err = tx.ExecContext(ctx, `DELETE FROM fan_outs WHERE seq = ?`, seq)
			} else {
				_, err = tx.ExecContext(ctx, `UPDATE fan_outs SET after_webhook_id = ? WHERE seq = ?`, chunk[len(chunk)-1], seq)
			}
			if err != nil {
				return err
			}
		}
		return deliveries.done(ctx)
	})
	if err != nil {
		return false, err
	}
	if created > 0 {
		s.notify()
	}
	return remaining, nil
}

// deliveryRowsOf queues deliveries of tx, due at once or, in an ordered
// webhook's lane, behind its head (lanes.join). It inserts them in the
// largest statement's chunks in the order they are added (each chunk after
// the events it refers to) and, at done, what is left in chunks of the
// statements' other sizes, then gives the lanes it joined their heads.
type deliveryRowsOf struct {
	s     *Store
	tx    *sql.Tx
	subs  *hookd.Subscriptions
	now   time.Time
	laned lanes
	args  []any
	// replayID is the replay the deliveries re-send events for (nil: none).
	replayID *int64
	// lease leases some of them as they are added (a publish's handoff);
	// nil leases none.
	lease *leasing
}

func (s *Store) newDeliveries(tx *sql.Tx, subs *hookd.Subscriptions, now time.Time) *deliveryRowsOf {
	return &deliveryRowsOf{s: s, tx: tx, subs: subs, now: now, laned: lanes{}}
}

// add queues a delivery of e to webhookID with a new message id.
func (d *deliveryRowsOf) add(ctx context.Context, webhookID int64, e *hookd.Event) error {
	return d.addAs(ctx, webhookID, e, hookd.NewMessageID())
}

// addAs queues a delivery of e to webhookID with messageID (a replay's
// keeps the event's first webhook-id).
func (d *deliveryRowsOf) addAs(ctx context.Context, webhookID int64, e *hookd.Event, messageID string) error {
	l, ordered := d.subs.Lane(webhookID, e)
	return d.addInLane(ctx, webhookID, e, messageID, l, ordered, false)
}

// addTo queues PublishTo's delivery of e to webhookID, whatever the
// webhook subscribes to and whether it is disabled (so in the lane of the
// ordering read here: d.subs knows the enabled webhooks only); nothing to
// a webhook deleted since PublishTo queued it behind a fan-out.
func (d *deliveryRowsOf) addTo(ctx context.Context, webhookID int64, e *hookd.Event) error {
	var ordering sql.NullString
	var disabled bool
	err := d.tx.QueryRowContext(ctx, `SELECT ordering, disabled FROM webhooks WHERE id = ?`, webhookID).Scan(&ordering, &disabled)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	l, ordered := hookd.Ordering(ordering.String).Lane(e)
	return d.addInLane(ctx, webhookID, e, hookd.NewMessageID(), l, ordered, disabled)
}

// addInLane queues a delivery of e to webhookID with messageID, in lane l
// if ordered, parked if the webhook is disabled (hookd.ParkIfDisabled).
func (d *deliveryRowsOf) addInLane(ctx context.Context, webhookID int64, e *hookd.Event, messageID string, l int64, ordered, disabled bool) error {
	if !ordered && !disabled && d.lease.lease(webhookID, e, messageID, d.now) {
		if len(d.lease.args) == leasedDeliveriesInsert.maxRows()*leasedDeliveriesInsert.cols {
			return d.lease.flush(ctx, d.s, d.tx)
		}
		return nil
	}
	due, lane := d.laned.join(webhookID, d.now, l, ordered)
	if disabled {
		due = ms(hookd.ParkIfDisabled(fromMS(due), disabled, ordered))
	}
	d.args = append(d.args, webhookID, e.ID, messageID, due, ms(d.now), lane, d.replayID)
	// The arguments grow as needed: most publishes queue a few deliveries,
	// and a statement's worth (900 of them) for each was most of intake's
	// allocations.
	if len(d.args) == deliveriesInsert.maxRows()*deliveriesInsert.cols {
		return d.flush(ctx)
	}
	return nil
}

func (d *deliveryRowsOf) done(ctx context.Context) error {
	if err := d.flush(ctx); err != nil {
		return err
	}
	if err := d.lease.flush(ctx, d.s, d.tx); err != nil {
		return err
	}
	_, err := d.s.promote(ctx, d.tx, d.laned, d.now)
	return err
}

func (d *deliveryRowsOf) flush(ctx context.Context) error {
	err := deliveriesInsert.exec(ctx, d.s, d.tx, d.args)
	d.args = d.args[:0]
	return err
}

// behindFanOutSQL tells whether a PublishTo to webhook w must queue its
// delivery behind the fan-outs waiting (hookd.PlanFanOut): w is
// ordered and one of them may still reach it. When none waits, it probes
// an empty table.
const behindFanOutSQL = `w.ordering IS NOT NULL AND EXISTS (SELECT 1 FROM fan_outs f
	WHERE f.webhook_id = w.id OR f.webhook_id IS NULL AND f.after_webhook_id < w.id)`

// PublishTo stores e and one delivery of it to webhookID, whatever the
// webhook subscribes to and whether it is disabled: the admin's test
// action. An unknown webhook is ErrNotFound, an id already stored
// ErrConflict; either way nothing is written. To an ordered webhook that
// fan-outs waiting may still reach, the delivery is left to FanOut, behind
// them (hookd.PlanFanOut).
func (s *Store) PublishTo(ctx context.Context, webhookID int64, e *hookd.Event) error {
	if err := e.Normalize(s.clock.Now()); err != nil {
		return err
	}
	var behind bool
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT `+behindFanOutSQL+` FROM webhooks w WHERE id = ?`, webhookID).Scan(&behind)
		if err != nil {
			return notFound(err)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO events (id, event, project_id, user_id, data, deliveries, created_at, trace_parent, publisher_key_id)
			VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?)`,
			e.ID, e.Event, nullString(e.ProjectID), nullInt(e.UserID), string(e.Data), ms(e.CreatedAt), e.TraceParent, e.PublisherKeyID)
		if isUnique(err) {
			return hookd.ErrConflict
		}
		if err != nil {
			return err
		}
		if behind {
			_, err = tx.ExecContext(ctx, `INSERT INTO fan_outs (event_id, webhook_id, after_webhook_id) VALUES (?, ?, ?)`,
				e.ID, webhookID, int64(hookd.PublishToPast))
			return err
		}
		deliveries := s.newDeliveries(tx, nil, s.clock.Now())
		if err := deliveries.addTo(ctx, webhookID, e); err != nil {
			return err
		}
		return deliveries.done(ctx)
	})
	if err != nil {
		return err
	}
	if behind {
		s.wakeFanOut()
	} else {
		s.notify()
	}
	return nil
}

// eventsInsert stores events whose ids are not stored already, and returns
// the ids it stored. Each row takes the id, the name, the project, the
// user, the data, how many deliveries the event has, when it was created,
// its trace and its publisher's key.
var eventsInsert = newValuesStatement(
	`INSERT INTO events (id, event, project_id, user_id, data, deliveries, created_at, trace_parent, publisher_key_id) VALUES `,
	"(?, ?, ?, ?, ?, ?, ?, ?, ?)", ` ON CONFLICT (id) DO NOTHING RETURNING id`, 64)

// insertEvents stores the events, events[i] with deliveries[i] deliveries,
// in a few statements, and tells which it stored: not one whose id was
// stored before, nor the repeat of an id earlier in events.
func (s *Store) insertEvents(ctx context.Context, tx *sql.Tx, events []*hookd.Event, deliveries []int) ([]bool, error) {
	args := make([]any, 0, len(events)*eventsInsert.cols)
	for i, e := range events {
		args = append(args, e.ID, e.Event, nullString(e.ProjectID), nullInt(e.UserID), string(e.Data), deliveries[i],
			ms(e.CreatedAt), e.TraceParent, e.PublisherKeyID)
	}
	inserted := make(map[string]bool, len(events))
	err := eventsInsert.query(ctx, s, tx, args, func(rows *sql.Rows) error {
		var id string
		if err := rows.Scan(&id); err != nil {
			return err
		}
		inserted[id] = true
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storing %d events: %w", len(events), err)
	}
	stored := make([]bool, len(events))
	for i, e := range events {
		stored[i] = inserted[e.ID]
		delete(inserted, e.ID) // a repeat later in events is not stored
	}
	return stored, nil
}

// deliveriesInsert queues deliveries, due at once or blocked in their
// lane: at a fan-out of 10 one statement saves most of the per-row
// statement overhead of intake. Each row takes the webhook, the event, the
// message id, when it is due (now, or hookd.LaneBlocked), now (created),
// its lane and its replay.
var deliveriesInsert = newValuesStatement(
	`INSERT INTO deliveries (webhook_id, event_id, message_id, state, attempts, next_attempt_at, created_at, lane, replay_id) VALUES `,
	"(?, ?, ?, 'pending', 0, ?, ?, ?, ?)", "", 128)

// subscriptionsVersionSQL reads the subscriptions' version and whether
// events wait for their fan-out.
const subscriptionsVersionSQL = `SELECT version, EXISTS (SELECT 1 FROM fan_outs) FROM subscriptions_version`

// subscriptions returns the index that matches events in tx: the store's,
// unless the subscriptions' version in the database (migration 0009) has
// moved since it was built; and whether events wait for their fan-out
// (hookd.PlanFanOut's backlog), read in the same statement.
func (s *Store) subscriptions(ctx context.Context, tx *sql.Tx) (*hookd.Subscriptions, bool, error) {
	var version int64
	var backlog bool
	read, err := s.prepared(ctx, tx, subscriptionsVersionSQL)
	if err != nil {
		return nil, false, err
	}
	if err := read.QueryRowContext(ctx).Scan(&version, &backlog); err != nil {
		return nil, false, err
	}
	subs, err := s.subs.At(version, func() ([]*hookd.Webhook, error) { return subscribers(ctx, tx, "disabled = 0") })
	return subs, backlog, err
}

// subscribers returns the webhooks that where selects, with the fields
// that hookd.Webhook.Matches reads, their users included, their filters
// and orderings.
func subscribers(ctx context.Context, tx *sql.Tx, where string, args ...any) ([]*hookd.Webhook, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, trigger_events, project_id, disabled, filter, ordering FROM webhooks WHERE `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var hooks []*hookd.Webhook
	byID := map[int64]*hookd.Webhook{}
	for rows.Next() {
		var (
			w        hookd.Webhook
			events   string
			project  sql.NullString
			filter   sql.NullString
			ordering sql.NullString
		)
		if err := rows.Scan(&w.ID, &events, &project, &w.Disabled, &filter, &ordering); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(events), &w.TriggerEvents); err != nil {
			return nil, fmt.Errorf("webhook %d: trigger_events: %w", w.ID, err)
		}
		w.ProjectID, w.Filter, w.Ordering = stringPtr(project), filter.String, hookd.Ordering(ordering.String)
		hooks = append(hooks, &w)
		byID[w.ID] = &w
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()

	users, err := tx.QueryContext(ctx, `SELECT u.webhook_id, u.user_id FROM webhook_users u
		JOIN webhooks ON webhooks.id = u.webhook_id WHERE `+where+` ORDER BY u.id`, args...)
	if err != nil {
		return nil, err
	}
	defer users.Close()
	for users.Next() {
		var u hookd.WebhookUser
		if err := users.Scan(&u.WebhookID, &u.UserID); err != nil {
			return nil, err
		}
		w := byID[u.WebhookID]
		w.Users = append(w.Users, u)
	}
	return hooks, users.Err()
}

// keepRegistry applies what storing e does to the project registry
// (hookd.Event.RegistryUpdate).
func keepRegistry(ctx context.Context, tx *sql.Tx, e *hookd.Event, now time.Time) error {
	add, remove := e.RegistryUpdate(now)
	var err error
	switch {
	case add != nil:
		_, err = tx.ExecContext(ctx, `INSERT INTO projects (id, title, created_at, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (id) DO NOTHING`, add.ID, add.Title, ms(add.CreatedAt), ms(add.UpdatedAt))
	case remove != nil:
		_, err = tx.ExecContext(ctx, `DELETE FROM projects WHERE id = ?`, *remove)
	}
	return err
}

const eventColumns = `id, event, project_id, user_id, data, created_at, trace_parent`

func scanEvent(sc interface{ Scan(...any) error }, extra ...any) (*hookd.Event, error) {
	var (
		e       hookd.Event
		project sql.NullString
		user    sql.NullInt64
		data    string
		created int64
	)
	dest := append([]any{&e.ID, &e.Event, &project, &user, &data, &created, &e.TraceParent}, extra...)
	if err := sc.Scan(dest...); err != nil {
		return nil, err
	}
	e.ProjectID, e.UserID = stringPtr(project), intPtr(user)
	e.Data = json.RawMessage(data)
	e.CreatedAt = fromMS(created)
	return &e, nil
}

// readEvent returns a stored event, with the key that published it, and
// how many deliveries it created.
func readEvent(ctx context.Context, q querier, id string) (*hookd.Event, int, error) {
	var count int
	var publisher int64
	e, err := scanEvent(q.QueryRowContext(ctx, `SELECT `+eventColumns+`, deliveries, publisher_key_id FROM events WHERE id = ?`, id),
		&count, &publisher)
	if err != nil {
		return nil, 0, notFound(err)
	}
	e.PublisherKeyID = publisher
	return e, count, nil
}
