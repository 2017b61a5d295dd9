package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
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
	if len(events) == 0 {
		return []hookd.Published{}, nil
	}
	if err := hookd.NormalizeAll(events, s.clock.Now()); err != nil {
		return nil, err
	}
	out := make([]hookd.Published, len(events))
	queued := 0
	early := s.subs.Prematch(events) // outside the write lock
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		subs, err := s.subscriptions(ctx, tx)
		if err != nil {
			return err
		}
		matches := early.With(subs, events)
		insEvent, err := s.prepared(ctx, tx, insertEventSQL)
		if err != nil {
			return err
		}
		defer insEvent.Close()
		// Deliveries are inserted deliveryRows at a time, in the order they
		// are queued, each chunk after the events it refers to; what is
		// left at the end in chunks of the statements' other sizes.
		now := s.clock.Now()
		args := make([]any, 0, deliveryRows*deliveryCols)
		flush := func() error {
			for len(args) > 0 {
				k := len(deliveriesInsert) - 1
				for 1<<k > len(args)/deliveryCols {
					k--
				}
				ins, err := s.prepared(ctx, tx, deliveriesInsert[k])
				if err != nil {
					return err
				}
				n := (1 << k) * deliveryCols
				if _, err := ins.ExecContext(ctx, args[:n]...); err != nil {
					return err
				}
				args = append(args[:0], args[n:]...)
			}
			return nil
		}

		for i, e := range events {
			matched := matches[i]
			res, err := insEvent.ExecContext(ctx, e.ID, e.Event, nullString(e.ProjectID), nullInt(e.UserID),
				string(e.Data), len(matched), ms(e.CreatedAt), e.TraceParent, e.PublisherKeyID)
			if err != nil {
				return fmt.Errorf("event %q: %w", e.ID, err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 0 {
				orig, count, err := readEvent(ctx, tx, e.ID)
				if err != nil {
					return err
				}
				if out[i], err = hookd.Republish(e, i, *orig, count); err != nil {
					return err
				}
				continue
			}
			for _, webhookID := range matched {
				args = append(args, webhookID, e.ID, hookd.NewMessageID(), ms(now), ms(now))
				if len(args) == cap(args) {
					if err := flush(); err != nil {
						return err
					}
				}
			}
			if err := keepRegistry(ctx, tx, e, now); err != nil {
				return err
			}
			queued += len(matched)
			out[i] = hookd.Published{Event: *e, Deliveries: len(matched)}
		}
		return flush()
	})
	if err != nil {
		return nil, err
	}
	if queued > 0 {
		s.notify()
	}
	return out, nil
}

// PublishTo stores e and one delivery of it to webhookID, whatever the
// webhook subscribes to and whether it is disabled: the admin's test
// action. An unknown webhook is ErrNotFound, an id already stored
// ErrConflict; either way nothing is written.
func (s *Store) PublishTo(ctx context.Context, webhookID int64, e *hookd.Event) error {
	if err := e.Normalize(s.clock.Now()); err != nil {
		return err
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := webhookExists(ctx, tx, webhookID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO events (id, event, project_id, user_id, data, deliveries, created_at, trace_parent, publisher_key_id)
			VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?)`,
			e.ID, e.Event, nullString(e.ProjectID), nullInt(e.UserID), string(e.Data), ms(e.CreatedAt), e.TraceParent, e.PublisherKeyID)
		if isUnique(err) {
			return hookd.ErrConflict
		}
		if err != nil {
			return err
		}
		now := ms(s.clock.Now())
		_, err = tx.ExecContext(ctx, deliveriesInsert[0], webhookID, e.ID, hookd.NewMessageID(), now, now)
		return err
	})
	if err != nil {
		return err
	}
	s.notify()
	return nil
}

// insertEventSQL stores an event unless its id is stored already.
const insertEventSQL = `INSERT INTO events (id, event, project_id, user_id, data, deliveries, created_at, trace_parent, publisher_key_id)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`

// deliveriesInsert[k] queues 1<<k deliveries, due at once, in one
// statement: at a fan-out of 10 this saves most of the per-row statement
// overhead of intake, and each size is prepared once (a statement of any
// other size would be prepared at each publish). Each row takes
// deliveryCols arguments: the webhook, the event, the message id and now
// twice (due, created).
var deliveriesInsert = sizedVariants(8, deliveriesInsertOf, func(k int) int { return 1 << k })

const deliveryRows, deliveryCols = 1 << 7, 5

func deliveriesInsertOf(rows int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO deliveries (webhook_id, event_id, message_id, state, attempts, next_attempt_at, created_at) VALUES `)
	for i := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		// Plain ? rather than ?NNN: the driver looks each numbered
		// parameter's name up in a list as long as the statement's.
		b.WriteString("(?, ?, ?, 'pending', 0, ?, ?)")
	}
	return b.String()
}

// subscriptions returns the index that matches events in tx: the store's,
// unless the subscriptions' version in the database (migration 0009) has
// moved since it was built.
func (s *Store) subscriptions(ctx context.Context, tx *sql.Tx) (*hookd.Subscriptions, error) {
	var version int64
	if err := tx.QueryRowContext(ctx, `SELECT version FROM subscriptions_version`).Scan(&version); err != nil {
		return nil, err
	}
	return s.subs.At(version, func() ([]*hookd.Webhook, error) { return subscribers(ctx, tx, "disabled = 0") })
}

// subscribers returns the webhooks that where selects, with the fields
// that hookd.Webhook.Matches reads, their users included, and their
// filters.
func subscribers(ctx context.Context, tx *sql.Tx, where string, args ...any) ([]*hookd.Webhook, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, trigger_events, project_id, disabled, filter FROM webhooks WHERE `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var hooks []*hookd.Webhook
	byID := map[int64]*hookd.Webhook{}
	for rows.Next() {
		var (
			w       hookd.Webhook
			events  string
			project sql.NullString
			filter  sql.NullString
		)
		if err := rows.Scan(&w.ID, &events, &project, &w.Disabled, &filter); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(events), &w.TriggerEvents); err != nil {
			return nil, fmt.Errorf("webhook %d: trigger_events: %w", w.ID, err)
		}
		w.ProjectID, w.Filter = stringPtr(project), filter.String
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
