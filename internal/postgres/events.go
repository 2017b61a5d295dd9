package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd"
)

const eventCols = `id, event, project_id, user_id, data, created_at, deliveries, trace_parent`

// PublishEvents stores events and their deliveries in one transaction: the
// batch is accepted whole or not at all. An event whose ID is already
// stored (or repeated earlier in the same call) is answered with the
// original and creates nothing, or refuses the batch, as hookd.Republish
// rules.
//
// Events without an ID get one, events without CreatedAt are stamped now
// and absent data becomes {}; all are written back to the caller's events
// before the transaction, so a caller retrying after an error sends the
// same ids and cannot publish an event twice.
func (s *Store) PublishEvents(ctx context.Context, events []*hookd.Event) ([]hookd.Published, error) {
	if len(events) == 0 {
		return []hookd.Published{}, nil
	}
	if err := hookd.NormalizeAll(events, s.clock.Now()); err != nil {
		return nil, err
	}
	early := s.subs.Prematch(events) // before the transaction, which it keeps short
	out, q, done, err := s.publishAtOnce(ctx, events, early)
	// A webhook deleted between reading the subscriptions and inserting
	// its deliveries fails the foreign key: read them again and retry.
	for try := 0; !done; try++ {
		out, q, err = s.publish(ctx, events, early)
		done = err == nil || try == 3 || !isCode(err, codeForeignKeyViolation)
	}
	if err != nil {
		return nil, wrapErr(err)
	}
	s.queued(q)
	return out, nil
}

// PublishAndClaim is PublishEvents: PostgreSQL offers h nothing, and its
// deliveries are claimed. Its publish is one statement, one round trip
// (publishAtOnce); leasing at once would add one, to take the claim locks
// and read the webhooks it would serve before planning, which is about as
// many round trips as the claims it would save (at 32 publishers of single
// events, a claim takes 30 deliveries, three round trips, while a publish
// carries 13).
func (s *Store) PublishAndClaim(ctx context.Context, events []*hookd.Event, _ hookd.Handoff) ([]hookd.Published, error) {
	return s.PublishEvents(ctx, events)
}

// queued is what a publish queued once it committed: the deliveries it
// created, and whether it left some to FanOut.
type queued struct {
	created  int
	deferred bool
}

// queued wakes the claims, and the fan-out, for what a committed publish
// queued.
func (s *Store) queued(q queued) {
	if q.created > 0 {
		s.wakeup()
	}
	if q.deferred {
		select {
		case s.fanOutWake <- struct{}{}:
		default:
		}
	}
}

// insertEventsSQL inserts the events of an eventColumns' args ($1 to $9)
// for which where holds, then tail (ON CONFLICT, RETURNING). It inserts
// them in the order of their ids, not the batch's: two publishes of the
// same new ids in opposite orders would each insert one and wait for the
// other's (a deadlock, 40P01); in one order the second waits for the first,
// then finds the ids stored (hookd.Republish). Only the rows' locks follow
// this order: the answer and the deliveries (their ids, their lanes)
// follow the batch's.
func insertEventsSQL(where, tail string) string {
	return `
	INSERT INTO events (id, event, project_id, user_id, data, created_at, deliveries, trace_parent, publisher_key_id)
	SELECT t.* FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::json[], $6::timestamptz[], $7::int[], $8::text[], $9::bigint[])
		AS t(id, event, project_id, user_id, data, created_at, deliveries, trace_parent, publisher_key_id)
	WHERE ` + where + `
	ORDER BY t.id
	` + tail
}

// eventColumns are events as the columns of insertEventsSQL.
type eventColumns struct {
	ids, names, traceParents []string
	projects, datas          []*string
	users                    []*int64
	createdAt                []time.Time
	deliveries               []int32
	publishers               []int64
}

// add appends e, which makes deliveries deliveries.
func (c *eventColumns) add(e *hookd.Event, deliveries int) {
	data := string(e.Data)
	c.ids, c.names, c.traceParents = append(c.ids, e.ID), append(c.names, e.Event), append(c.traceParents, e.TraceParent)
	c.projects, c.datas, c.users = append(c.projects, e.ProjectID), append(c.datas, &data), append(c.users, e.UserID)
	c.createdAt, c.deliveries = append(c.createdAt, e.CreatedAt), append(c.deliveries, int32(deliveries))
	c.publishers = append(c.publishers, e.PublisherKeyID)
}

// args are insertEventsSQL's arguments.
func (c *eventColumns) args() []any {
	return []any{c.ids, c.names, c.projects, c.users, c.datas, c.createdAt, c.deliveries, c.traceParents, c.publishers}
}

// publishAtOnceSQL stores new events and their deliveries in one
// statement (publishAtOnce), if the subscriptions' version is still $10
// and no fan-out waits; it returns whether they were, and wakes the claims.
var publishAtOnceSQL = `
WITH v AS (
	SELECT version = $10 AND NOT EXISTS (SELECT 1 FROM fan_outs) AS current FROM subscriptions_version
), ev AS (` + insertEventsSQL(`(SELECT current FROM v)`, `RETURNING 1`) + `
), dl AS (
	INSERT INTO deliveries (webhook_id, event_id, message_id, next_attempt_at, created_at)
	SELECT w, e, m, $14, $14
	FROM unnest($11::bigint[], $12::text[], $13::text[]) WITH ORDINALITY AS d(w, e, m, ord)
	WHERE (SELECT current FROM v)
	ORDER BY ord
	RETURNING 1
)
SELECT (SELECT current FROM v), (SELECT count(*) FROM ev),
       CASE WHEN EXISTS (SELECT 1 FROM dl) THEN pg_notify('` + NotifyChannel + `', '') END`

// publishAtOnce stores events and their deliveries in one statement, a
// transaction of one round trip, when none of them needs what the
// transaction of publish reads or decides: the early matches are of the
// subscriptions' version the statement finds, no fan-out waits (new
// deliveries would overtake it) and theirs fit in one chunk, no event
// joins an ordered lane or changes the project registry, and every id is
// new (one already stored fails the statement, and publish answers with
// the original, as hookd.Republish rules). Otherwise it stores nothing and
// reports done false: publish does it all.
func (s *Store) publishAtOnce(ctx context.Context, events []*hookd.Event, early hookd.Prematched) (out []hookd.Published, q queued, done bool, err error) {
	matches, index, version, ok := early.Made()
	if !ok {
		return nil, queued{}, false, nil
	}
	now := s.clock.Now()
	counts := make([]int, len(events))
	seen := make(map[string]bool, len(events))
	for i, e := range events {
		if seen[e.ID] {
			return nil, queued{}, false, nil
		}
		seen[e.ID] = true
		if add, remove := e.RegistryUpdate(now); add != nil || remove != nil {
			return nil, queued{}, false, nil
		}
		for _, wid := range matches[i] {
			if _, ordered := index.Lane(wid, e); ordered {
				return nil, queued{}, false, nil
			}
		}
		counts[i] = len(matches[i])
	}
	if hookd.PlanFanOut(counts, false, s.fanOutChunk) < len(events) {
		return nil, queued{}, false, nil
	}

	var cols eventColumns
	var dWebhooks []int64
	var dEvents, dMessages []string
	for i, e := range events {
		cols.add(e, counts[i])
		for _, wid := range matches[i] {
			dWebhooks, dEvents, dMessages = append(dWebhooks, wid), append(dEvents, e.ID), append(dMessages, hookd.NewMessageID())
		}
	}
	var current bool
	var inserted int
	var notified *string
	err = s.pool.QueryRow(ctx, publishAtOnceSQL, append(cols.args(), version, dWebhooks, dEvents, dMessages, now)...).
		Scan(&current, &inserted, &notified)
	switch {
	case isCode(err, codeUniqueViolation), isCode(err, codeForeignKeyViolation):
		return nil, queued{}, false, nil // an id stored already, or a webhook deleted since: publish sorts it out
	case err != nil:
		return nil, queued{}, true, err
	case !current:
		return nil, queued{}, false, nil
	case inserted != len(events):
		return nil, queued{}, true, fmt.Errorf("published %d of %d events", inserted, len(events))
	}
	out = make([]hookd.Published, len(events))
	for i, e := range events {
		out[i] = hookd.Published{Event: *e, Deliveries: counts[i]}
	}
	return out, queued{created: len(dWebhooks)}, true, nil
}

// publish is one attempt of PublishEvents.
func (s *Store) publish(ctx context.Context, events []*hookd.Event, early hookd.Prematched) (out []hookd.Published, q queued, err error) {
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		out, q, err = s.publishIn(ctx, tx, events, early)
		return err
	})
	if err != nil {
		return nil, queued{}, err
	}
	return out, q, nil
}

// publishIn stores events and their deliveries in tx (PublishEvents, and
// the outbox's relay in the transaction that deletes their rows); it
// returns how many deliveries it created. early holds the events'
// matches made before tx, if any (hookd.Prematched).
func (s *Store) publishIn(ctx context.Context, tx pgx.Tx, events []*hookd.Event, early hookd.Prematched) ([]hookd.Published, queued, error) {
	now := s.clock.Now()
	out := make([]hookd.Published, len(events))
	var q queued
	err := func() error {
		// The new events: the first of each ID in this call.
		first := make(map[string]int, len(events))
		var fresh []int
		for i, e := range events {
			if _, dup := first[e.ID]; dup {
				continue
			}
			first[e.ID] = i
			fresh = append(fresh, i)
		}
		subs, backlog, err := s.subscriptions(ctx, tx)
		if err != nil {
			return err
		}

		// Matched in Go, counted per event before the insert so the event
		// row records how many deliveries it made.
		matches := early.With(subs, events)
		matched := make([]int, len(fresh))
		for j, i := range fresh {
			matched[j] = len(matches[i])
		}
		createNow := hookd.PlanFanOut(matched, backlog, s.fanOutChunk)

		var cols eventColumns
		for _, i := range fresh {
			cols.add(events[i], len(matches[i]))
		}
		rows, _ := tx.Query(ctx, insertEventsSQL(`true`, `ON CONFLICT (id) DO NOTHING RETURNING id`), cols.args()...)
		inserted, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		isNew := make(map[string]bool, len(inserted))
		for _, id := range inserted {
			isNew[id] = true
		}

		// Originals of the repeated IDs.
		var old []string
		for _, id := range cols.ids {
			if !isNew[id] {
				old = append(old, id)
			}
		}
		type original struct {
			event      hookd.Event
			deliveries int
		}
		originals := make(map[string]original, len(old))
		if len(old) > 0 {
			rows, _ := tx.Query(ctx, `SELECT `+eventCols+`, publisher_key_id FROM events WHERE id = ANY($1)`, old)
			var e hookd.Event
			var count int
			var data []byte
			_, err := pgx.ForEachRow(rows, []any{&e.ID, &e.Event, &e.ProjectID, &e.UserID, &data, &e.CreatedAt, &count, &e.TraceParent, &e.PublisherKeyID}, func() error {
				ev := e
				if data != nil {
					ev.Data = json.RawMessage(append([]byte(nil), data...))
				}
				originals[e.ID] = original{ev, count}
				return nil
			})
			if err != nil {
				return err
			}
		}

		// Deliveries of the new events, due at once, but those PlanFanOut
		// leaves to FanOut; those of an ordered webhook in their lane,
		// blocked until promoted (hookd.Ordering).
		var dWebhooks []int64
		var dEvents, dMessages []string
		var dDue []time.Time
		var dLanes []*int64
		laned := lanes{}
		var fanOuts []string
		for j, i := range fresh {
			e := events[i]
			if !isNew[e.ID] {
				continue
			}
			if j >= createNow {
				if len(matches[i]) > 0 {
					fanOuts = append(fanOuts, e.ID)
				}
				continue
			}
			for _, wid := range matches[i] {
				l, ordered := subs.Lane(wid, e)
				due, lane := laned.join(wid, now, l, ordered)
				dWebhooks = append(dWebhooks, wid)
				dEvents = append(dEvents, e.ID)
				dMessages = append(dMessages, hookd.NewMessageID())
				dDue = append(dDue, due)
				dLanes = append(dLanes, lane)
			}
		}
		b := &pgx.Batch{}
		if len(dWebhooks) > 0 {
			queueDeliveries(b, laned, now, dWebhooks, dEvents, dMessages, dDue, dLanes, nil)
			b.Queue(`SELECT pg_notify('` + NotifyChannel + `', '')`)
		}
		if len(fanOuts) > 0 {
			b.Queue(`INSERT INTO fan_outs (event_id) SELECT id FROM unnest($1::text[]) WITH ORDINALITY AS t(id, n) ORDER BY n`, fanOuts)
		}
		// The project registry follows the new events: each project's
		// updates in the events' order, the projects in the order of their
		// ids, so that publishes updating the same projects wait for each
		// other rather than deadlock (as insertEventsSQL's events).
		var registry []int
		for _, i := range fresh {
			if isNew[events[i].ID] && events[i].ProjectID != nil {
				registry = append(registry, i)
			}
		}
		slices.SortStableFunc(registry, func(i, j int) int { return strings.Compare(*events[i].ProjectID, *events[j].ProjectID) })
		for _, i := range registry {
			add, remove := events[i].RegistryUpdate(now)
			switch {
			case add != nil:
				b.Queue(`INSERT INTO projects (id, title, created_at, updated_at) VALUES ($1, $2, $3, $4)
					ON CONFLICT (id) DO NOTHING`, add.ID, add.Title, add.CreatedAt, add.UpdatedAt)
			case remove != nil:
				b.Queue(`DELETE FROM projects WHERE id = $1`, *remove)
			}
		}
		if b.Len() > 0 {
			if err := tx.SendBatch(ctx, b).Close(); err != nil {
				return err
			}
		}

		for i, e := range events {
			j := first[e.ID]
			if j == i && isNew[e.ID] {
				out[i] = hookd.Published{Event: *e, Deliveries: len(matches[i])}
				continue
			}
			orig, ok := originals[e.ID]
			if isNew[e.ID] {
				// repeated within this call: the original is the first one
				orig, ok = original{*events[j], len(matches[j])}, true
			}
			if !ok {
				return fmt.Errorf("event %q: neither inserted nor found", e.ID)
			}
			if out[i], err = hookd.Republish(e, i, orig.event, orig.deliveries); err != nil {
				return err
			}
		}
		q = queued{created: len(dWebhooks), deferred: len(fanOuts) > 0}
		return nil
	}()
	if err != nil {
		return nil, queued{}, err
	}
	return out, q, nil
}

// queueDeliveries queues into b the insert of deliveries, one per element
// of the arrays, created now, in the order of the arrays (ids follow
// acceptance), under the locks of the lanes they join and followed by the
// promotion of those lanes' heads (hookd.Ordering); replayID is the
// replay they re-send events for (nil: none).
func queueDeliveries(b *pgx.Batch, laned lanes, now time.Time, webhooks []int64, events, messages []string, due []time.Time, lanes []*int64, replayID *int64) {
	if len(laned) > 0 {
		laned.queueLock(b)
	}
	b.Queue(`
		INSERT INTO deliveries (webhook_id, event_id, message_id, next_attempt_at, created_at, lane, replay_id)
		SELECT w, e, m, d, $5, l, $7
		FROM unnest($1::bigint[], $2::text[], $3::text[], $4::timestamptz[], $6::bigint[]) WITH ORDINALITY AS t(w, e, m, d, l, ord)
		ORDER BY ord`,
		webhooks, events, messages, due, now, lanes, replayID)
	if len(laned) > 0 {
		laned.queuePromote(b, now, nil)
	}
}

// FanOut creates the deliveries that publishes left to it
// (hookd.PlanFanOut), oldest event first, at most its chunk (hookd.FanOutChunk) in one
// transaction, to the webhooks that match each event now, and reports
// whether any remain. Processes take turns: each locks the oldest row of
// fan_outs, so a second one waits for the first's chunk and goes on from
// there.
func (s *Store) FanOut(ctx context.Context) (remaining bool, err error) {
	var pending bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM fan_outs)`).Scan(&pending); err != nil || !pending {
		return false, wrapErr(err)
	}
	// spent is the chunk used: a delivery each, and one for an event that
	// creates none (erased, its webhooks gone), so that a backlog of those
	// is bounded too.
	spent, created := 0, 0
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		remaining, spent, created = false, 0, 0
		subs, _, err := s.subscriptions(ctx, tx)
		if err != nil {
			return err
		}
		now := s.clock.Now()
		var webhooks []int64
		var eventIDs, messages []string
		var due []time.Time
		var laneOf []*int64
		laned := lanes{}
		holdsEvent := false
		for spent < s.fanOutChunk {
			var seq, after int64
			var target *int64
			var e hookd.Event
			var name *string
			var data []byte
			err := tx.QueryRow(ctx, `
				SELECT f.seq, f.event_id, f.after_webhook_id, f.webhook_id, e.event, e.project_id, e.user_id, e.data
				FROM fan_outs f LEFT JOIN events e ON e.id = f.event_id AND e.erased_at IS NULL
				ORDER BY f.seq LIMIT 1 FOR UPDATE OF f`).Scan(&seq, &e.ID, &after, &target, &name, &e.ProjectID, &e.UserID, &data)
			if errors.Is(err, pgx.ErrNoRows) {
				break
			}
			if err != nil {
				return err
			}
			remaining = true
			if name != nil {
				// The event stays as read until the deliveries are in: an
				// Erase (FOR UPDATE) that came between would not see them.
				// Only while no event is locked yet does FanOut wait for
				// one: an Erase locks its events in id order, not in this
				// one, and could hold this event while waiting for one
				// locked before (a deadlock, 40P01). A later event that is
				// locked ends the chunk; the next one begins with it.
				lock := `SELECT erased_at IS NULL FROM events WHERE id = $1 FOR SHARE`
				if holdsEvent {
					lock += ` SKIP LOCKED`
				}
				var live bool
				err := tx.QueryRow(ctx, lock, e.ID).Scan(&live)
				if holdsEvent && errors.Is(err, pgx.ErrNoRows) {
					break
				}
				if err != nil && !errors.Is(err, pgx.ErrNoRows) {
					return err
				}
				holdsEvent = holdsEvent || err == nil
				if !live {
					name = nil
				}
			}
			var rest []int64
			laneFor := subs.Lane
			var to *publishTarget // a PublishTo's webhook
			switch {
			case name == nil: // erased or pruned meanwhile: nothing left to send
			case target != nil: // a PublishTo's, queued behind the fan-outs before it
				e.Event, e.Data = *name, data
				w, _, found, err := publishToWebhook(ctx, tx, *target)
				if err != nil {
					return err
				}
				if found {
					rest, to = []int64{*target}, &w
					laneFor = func(_ int64, e *hookd.Event) (int64, bool) { return w.ordering.Lane(e) }
				}
			default:
				e.Event, e.Data = *name, data
				rest = hookd.AfterWebhook(subs.Match(&e), after)
			}
			chunk := rest[:min(len(rest), s.fanOutChunk-spent)]
			for _, webhookID := range chunk {
				l, ordered := laneFor(webhookID, &e)
				at, lane := laned.join(webhookID, now, l, ordered)
				if to != nil {
					at = hookd.ParkIfDisabled(at, to.disabled, ordered)
				}
				webhooks = append(webhooks, webhookID)
				eventIDs = append(eventIDs, e.ID)
				messages = append(messages, hookd.NewMessageID())
				due = append(due, at)
				laneOf = append(laneOf, lane)
			}
			created += len(chunk)
			spent += max(len(chunk), 1)
			if len(chunk) == len(rest) {
				_, err = tx.Exec(ctx, `DELETE FROM fan_outs WHERE seq = $1`, seq)
			} else {
				_, err = tx.Exec(ctx, `UPDATE fan_outs SET after_webhook_id = $2 WHERE seq = $1`, seq, chunk[len(chunk)-1])
			}
			if err != nil {
				return err
			}
		}
		if created == 0 {
			return nil
		}
		b := &pgx.Batch{}
		queueDeliveries(b, laned, now, webhooks, eventIDs, messages, due, laneOf, nil)
		b.Queue(`SELECT pg_notify('` + NotifyChannel + `', '')`)
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return false, wrapErr(err)
	}
	if created > 0 {
		s.wakeup()
	}
	return remaining, nil
}

// subscriptions returns the index that matches events in tx: the store's,
// unless the subscriptions' version in the database (migration 0009) has
// moved since it was built, here or in another process; and whether events
// wait for their fan-out (hookd.PlanFanOut's backlog), read in the same
// statement.
func (s *Store) subscriptions(ctx context.Context, tx pgx.Tx) (*hookd.Subscriptions, bool, error) {
	var version int64
	var backlog bool
	if err := tx.QueryRow(ctx, `SELECT version, EXISTS (SELECT 1 FROM fan_outs) FROM subscriptions_version`).Scan(&version, &backlog); err != nil {
		return nil, false, err
	}
	subs, err := s.subs.At(version, func() ([]*hookd.Webhook, error) { return subscribers(ctx, tx, "NOT disabled") })
	return subs, backlog, err
}

// subscribers returns the webhooks that where selects, with the fields
// that hookd.Webhook.Matches reads, their users included, and their
// filters. It reads them after the version (READ COMMITTED: a change
// committed in between makes the index newer than its version, never
// older).
func subscribers(ctx context.Context, q querier, where string, args ...any) ([]*hookd.Webhook, error) {
	rows, _ := q.Query(ctx, `
		SELECT id, trigger_events, project_id, disabled, coalesce(filter, ''),
		       ARRAY(SELECT user_id FROM webhook_users u WHERE u.webhook_id = w.id ORDER BY u.id),
		       coalesce(ordering, '')
		FROM webhooks w
		WHERE `+where, args...)
	var hooks []*hookd.Webhook
	var id int64
	var trig []string
	var project *string
	var disabled bool
	var filter string
	var users []int64
	var ordering string
	_, err := pgx.ForEachRow(rows, []any{&id, &trig, &project, &disabled, &filter, &users, &ordering}, func() error {
		w := &hookd.Webhook{ID: id, TriggerEvents: trig, ProjectID: project, Disabled: disabled, Filter: filter,
			Ordering: hookd.Ordering(ordering)}
		for _, u := range users {
			w.Users = append(w.Users, hookd.WebhookUser{WebhookID: id, UserID: u})
		}
		hooks = append(hooks, w)
		trig, project, users = nil, nil, nil
		return nil
	})
	return hooks, err
}

// publishToWebhook reads, for a PublishTo's delivery to webhook
// webhookID, the webhook's ordering, whatever it subscribes to and whether
// it is disabled (the subscriptions know the enabled webhooks only), and
// whether the delivery must queue behind the fan-outs waiting
// (hookd.PlanFanOut): the webhook is ordered and one of them may still
// reach it. It locks the webhook FOR SHARE until tx ends: a disabling
// (which updates the row) waits for tx, or tx for it, so that the disabled
// it reads stands until tx commits (hookd.ParkIfDisabled), as in
// ordering.go, whose order of locks it begins. found is false when there
// is no such webhook. When no fan-out waits, the probe finds an empty
// table, in the same statement.
func publishToWebhook(ctx context.Context, tx pgx.Tx, webhookID int64) (w publishTarget, behind, found bool, err error) {
	err = tx.QueryRow(ctx, `
		SELECT coalesce(ordering, ''), disabled, ordering IS NOT NULL AND EXISTS (SELECT 1 FROM fan_outs f
		       WHERE f.webhook_id = w.id OR f.webhook_id IS NULL AND f.after_webhook_id < w.id)
		FROM webhooks w WHERE id = $1 FOR SHARE`, webhookID).Scan(&w.ordering, &w.disabled, &behind)
	if errors.Is(err, pgx.ErrNoRows) {
		return w, false, false, nil
	}
	return w, behind, err == nil, err
}

// publishTarget is what a PublishTo's delivery takes of its webhook.
type publishTarget struct {
	ordering hookd.Ordering
	disabled bool
}

// PublishTo stores e and one delivery of it to webhook webhookID, whatever
// the webhook's subscriptions and state. An ID already stored is
// ErrConflict; an unknown webhook ErrNotFound. To an ordered webhook that
// fan-outs waiting may still reach, the delivery is left to FanOut, behind
// them (hookd.PlanFanOut).
func (s *Store) PublishTo(ctx context.Context, webhookID int64, e *hookd.Event) error {
	if err := e.Normalize(s.clock.Now()); err != nil {
		return err
	}
	now := s.clock.Now()
	var q queued
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q = queued{}
		w, behind, found, err := publishToWebhook(ctx, tx, webhookID)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("webhook %d: %w", webhookID, hookd.ErrNotFound)
		}
		tag, err := tx.Exec(ctx, `
			INSERT INTO events (id, event, project_id, user_id, data, created_at, deliveries, trace_parent, publisher_key_id)
			VALUES ($1, $2, $3, $4, $5::json, $6, 1, $7, $8) ON CONFLICT (id) DO NOTHING`,
			e.ID, e.Event, e.ProjectID, e.UserID, string(e.Data), e.CreatedAt, e.TraceParent, e.PublisherKeyID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("event %q: %w", e.ID, hookd.ErrConflict)
		}
		if behind {
			q.deferred = true
			_, err := tx.Exec(ctx, `INSERT INTO fan_outs (event_id, webhook_id, after_webhook_id) VALUES ($1, $2, $3)`,
				e.ID, webhookID, int64(hookd.PublishToPast))
			return err
		}
		q.created = 1
		b, laned := &pgx.Batch{}, lanes{}
		l, ordered := w.ordering.Lane(e)
		due, lane := laned.join(webhookID, now, l, ordered)
		due = hookd.ParkIfDisabled(due, w.disabled, ordered)
		if ordered {
			laned.queueLock(b)
		}
		b.Queue(`INSERT INTO deliveries (webhook_id, event_id, message_id, next_attempt_at, created_at, lane)
			VALUES ($1, $2, $3, $4, $5, $6)`, webhookID, e.ID, hookd.NewMessageID(), due, now, lane)
		if ordered {
			laned.queuePromote(b, now, nil)
		}
		b.Queue(`SELECT pg_notify('` + NotifyChannel + `', '')`)
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return wrapErr(err)
	}
	s.queued(q)
	return nil
}
