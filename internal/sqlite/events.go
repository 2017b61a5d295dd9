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
// The enabled webhooks are read once per batch, inside the transaction (so
// a webhook disabled or deleted meanwhile cannot slip in), indexed by event
// name, and each event is matched in Go with Webhook.Matches: the one place
// that defines matching.
//
// Events without an ID get one, and events without CreatedAt are stamped
// now; both are written back to the caller's events before the transaction,
// so that a caller retrying after an error sends the same ids and cannot
// publish an event twice.
func (s *Store) PublishEvents(ctx context.Context, events []*hookd.Event) ([]hookd.Published, error) {
	if len(events) == 0 {
		return []hookd.Published{}, nil
	}
	for _, e := range events {
		if err := e.Normalize(s.clock.Now()); err != nil {
			return nil, err
		}
	}
	out := make([]hookd.Published, len(events))
	queued := 0
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		byEvent, err := matchableWebhooks(ctx, tx)
		if err != nil {
			return err
		}
		insEvent, err := s.prepared(ctx, tx, insertEventSQL)
		if err != nil {
			return err
		}
		defer insEvent.Close()
		// Deliveries are inserted deliveryRows at a time, in the order they
		// are queued, each chunk after the events it refers to.
		insDeliveries, err := s.prepared(ctx, tx, deliveriesInsert)
		if err != nil {
			return err
		}
		defer insDeliveries.Close()
		now := s.clock.Now()
		args := make([]any, 0, deliveryRows*deliveryCols)
		flush := func() error {
			if len(args) == 0 {
				return nil
			}
			var err error
			if len(args) == deliveryRows*deliveryCols {
				_, err = insDeliveries.ExecContext(ctx, args...)
			} else {
				_, err = tx.ExecContext(ctx, deliveriesInsertOf(len(args)/deliveryCols), args...)
			}
			args = args[:0]
			return err
		}

		for i, e := range events {
			var matched []int64
			for _, w := range byEvent[e.Event] {
				if w.Matches(e) {
					matched = append(matched, w.ID)
				}
			}
			res, err := insEvent.ExecContext(ctx, e.ID, e.Event, nullString(e.ProjectID), nullInt(e.UserID),
				string(e.Data), len(matched), ms(e.CreatedAt), e.TraceParent)
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
				out[i] = hookd.Published{Event: *orig, Deliveries: count, Duplicate: true}
				continue
			}
			for _, webhookID := range matched {
				args = append(args, webhookID, e.ID, hookd.NewMessageID(), ms(now), ms(now), ms(now))
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
		_, err := tx.ExecContext(ctx, `INSERT INTO events (id, event, project_id, user_id, data, deliveries, created_at, trace_parent)
			VALUES (?, ?, ?, ?, ?, 1, ?, ?)`,
			e.ID, e.Event, nullString(e.ProjectID), nullInt(e.UserID), string(e.Data), ms(e.CreatedAt), e.TraceParent)
		if isUnique(err) {
			return hookd.ErrConflict
		}
		if err != nil {
			return err
		}
		now := ms(s.clock.Now())
		_, err = tx.ExecContext(ctx, deliveryInsert, webhookID, e.ID, hookd.NewMessageID(), now, now, now)
		return err
	})
	if err != nil {
		return err
	}
	s.notify()
	return nil
}

// insertEventSQL stores an event unless its id is stored already.
const insertEventSQL = `INSERT INTO events (id, event, project_id, user_id, data, deliveries, created_at, trace_parent)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`

// deliveryInsert queues a delivery, due at once.
const deliveryInsert = `INSERT INTO deliveries (webhook_id, event_id, message_id, state, attempts, next_attempt_at, created_at, updated_at)
	VALUES (?, ?, ?, 'pending', 0, ?, ?, ?)`

// deliveriesInsert queues deliveryRows deliveries, due at once, in one
// statement: at a fan-out of 10 this saves most of the per-row statement
// overhead of intake. Each row takes deliveryCols arguments: the webhook,
// the event, the message id and now three times (due, created, updated).
var deliveriesInsert = deliveriesInsertOf(deliveryRows)

const deliveryRows, deliveryCols = 100, 6

func deliveriesInsertOf(rows int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO deliveries (webhook_id, event_id, message_id, state, attempts, next_attempt_at, created_at, updated_at) VALUES `)
	for i := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		// Plain ? rather than ?NNN: the driver looks each numbered
		// parameter's name up in a list as long as the statement's.
		b.WriteString("(?, ?, ?, 'pending', 0, ?, ?, ?)")
	}
	return b.String()
}

// matchableWebhooks returns the enabled webhooks with their users, indexed
// by the event names they subscribe to. Only the fields Matches reads are
// loaded.
func matchableWebhooks(ctx context.Context, tx *sql.Tx) (map[string][]*hookd.Webhook, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, trigger_events, project_id FROM webhooks WHERE disabled = 0`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	byID := map[int64]*hookd.Webhook{}
	for rows.Next() {
		var (
			w       hookd.Webhook
			events  string
			project sql.NullString
		)
		if err := rows.Scan(&w.ID, &events, &project); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(events), &w.TriggerEvents); err != nil {
			return nil, fmt.Errorf("webhook %d: trigger_events: %w", w.ID, err)
		}
		w.ProjectID = stringPtr(project)
		byID[w.ID] = &w
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()

	users, err := tx.QueryContext(ctx, `SELECT u.webhook_id, u.user_id FROM webhook_users u
		JOIN webhooks w ON w.id = u.webhook_id WHERE w.disabled = 0`)
	if err != nil {
		return nil, err
	}
	defer users.Close()
	for users.Next() {
		var u hookd.WebhookUser
		if err := users.Scan(&u.WebhookID, &u.UserID); err != nil {
			return nil, err
		}
		if w := byID[u.WebhookID]; w != nil {
			w.Users = append(w.Users, u)
		}
	}
	if err := users.Err(); err != nil {
		return nil, err
	}

	byEvent := map[string][]*hookd.Webhook{}
	for _, w := range byID {
		for _, name := range w.TriggerEvents {
			byEvent[name] = append(byEvent[name], w)
		}
	}
	return byEvent, nil
}

// keepRegistry registers the project of a PROJECT_ADDED event (titled with
// data.title when that is a string; a project already known keeps its
// title) and forgets the project of a PROJECT_PURGED one.
func keepRegistry(ctx context.Context, tx *sql.Tx, e *hookd.Event, now time.Time) error {
	if e.ProjectID == nil {
		return nil
	}
	switch e.Event {
	case hookd.EventProjectAdded:
		var data struct {
			Title any `json:"title"`
		}
		json.Unmarshal(e.Data, &data) // data that is not an object has no title
		title, _ := data.Title.(string)
		_, err := tx.ExecContext(ctx, `INSERT INTO projects (id, title, created_at, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (id) DO NOTHING`, *e.ProjectID, title, ms(now), ms(now))
		return err
	case hookd.EventProjectPurged:
		_, err := tx.ExecContext(ctx, `DELETE FROM projects WHERE id = ?`, *e.ProjectID)
		return err
	}
	return nil
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

// readEvent returns a stored event and how many deliveries it created.
func readEvent(ctx context.Context, q querier, id string) (*hookd.Event, int, error) {
	var count int
	e, err := scanEvent(q.QueryRowContext(ctx, `SELECT `+eventColumns+`, deliveries FROM events WHERE id = ?`, id), &count)
	if err != nil {
		return nil, 0, notFound(err)
	}
	return e, count, nil
}
