package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/hookd/hookd"
)

// CreateWebhook stores w with its headers and users, in one transaction, and
// fills in the ids and times. An empty signingSecret gets a new one. A
// ProjectID that is not in the registry is ErrProjectNotFound.
func (s *Store) CreateWebhook(ctx context.Context, w *hookd.Webhook, signingSecret string) error {
	if signingSecret == "" {
		signingSecret = hookd.NewSigningSecret()
	}
	triggers := nonNil(w.TriggerEvents)
	events, err := json.Marshal(triggers)
	if err != nil {
		return err
	}
	created, updated := hookd.Stamps(w.CreatedAt, w.UpdatedAt, s.clock.Now())
	headers := slices.Clone(w.Headers)
	users := slices.Clone(w.Users)
	var id int64
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if w.ProjectID != nil {
			if err := projectExists(ctx, tx, *w.ProjectID); err != nil {
				return err
			}
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO webhooks
			(name, http_url, http_method, trigger_events, project_id, disabled, signing_secret, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			w.Name, w.HTTPURL, w.HTTPMethod, string(events), nullString(w.ProjectID), w.Disabled, signingSecret,
			ms(created), ms(updated)).Scan(&id)
		if err != nil {
			return err
		}
		for i := range headers {
			headers[i].WebhookID = id
			if err := insertHeader(ctx, tx, &headers[i], created); err != nil {
				return err
			}
		}
		for i := range users {
			users[i].WebhookID = id
			if err := insertUser(ctx, tx, &users[i], created); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Only a committed webhook changes the caller's value.
	w.ID, w.CreatedAt, w.UpdatedAt = id, created, updated
	w.TriggerEvents = triggers
	w.Headers, w.Users = nonNil(headers), nonNil(users)
	w.QueueLength, w.RetryQueueLength, w.LatestRun = 0, 0, nil
	return nil
}

// webhookSelect reads a webhook with its live figures, queue_length and
// retry_queue_length as hookd.QueueStats defines them: in flight is leased
// with a lease that has not ended at ?1 (now); a delivery whose lease ended
// (its worker died, or its webhook was disabled before the attempt) counts
// by its attempts again. The two never overlap. Both counts are index range
// scans over the webhook's pending deliveries (deliveries_webhook), which
// read each row for its attempts and lease.
const webhookSelect = `SELECT w.id, w.name, w.http_url, w.http_method, w.trigger_events, w.project_id, w.disabled,
	w.created_at, w.updated_at,
	w.last_run_at, w.last_run_success, w.last_run_status, w.last_run_duration_ns, w.last_run_event,
	(SELECT COUNT(*) FROM deliveries d WHERE d.webhook_id = w.id AND d.state = 'pending'
		AND (d.attempts = 0 OR (d.leased_by IS NOT NULL AND d.lease_until > ?1))),
	(SELECT COUNT(*) FROM deliveries d WHERE d.webhook_id = w.id AND d.state = 'pending'
		AND d.attempts > 0 AND (d.leased_by IS NULL OR d.lease_until <= ?1))
	FROM webhooks w`

// readWebhooks runs webhookSelect at now with tail (a WHERE clause, and
// ORDER BY where the order matters; its ? parameters are args, numbered
// after webhookSelect's ?1) and loads the headers and users of what it
// found.
func readWebhooks(ctx context.Context, q querier, now time.Time, tail string, args ...any) ([]*hookd.Webhook, error) {
	rows, err := q.QueryContext(ctx, webhookSelect+" "+tail, append([]any{ms(now)}, args...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	hooks := []*hookd.Webhook{}
	byID := map[int64]*hookd.Webhook{}
	for rows.Next() {
		var (
			w                hookd.Webhook
			events           string
			project          sql.NullString
			created, updated int64
			runAt            sql.NullInt64
			runSuccess       sql.NullBool
			runStatus        sql.NullInt64
			runDuration      sql.NullInt64
			runEvent         sql.NullString
		)
		if err := rows.Scan(&w.ID, &w.Name, &w.HTTPURL, &w.HTTPMethod, &events, &project, &w.Disabled,
			&created, &updated, &runAt, &runSuccess, &runStatus, &runDuration, &runEvent,
			&w.QueueLength, &w.RetryQueueLength); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(events), &w.TriggerEvents); err != nil {
			return nil, fmt.Errorf("webhook %d: trigger_events: %w", w.ID, err)
		}
		w.TriggerEvents = nonNil(w.TriggerEvents)
		w.ProjectID = stringPtr(project)
		w.CreatedAt, w.UpdatedAt = fromMS(created), fromMS(updated)
		w.LatestRun = latestRun(runAt, runSuccess, runStatus, runDuration, runEvent)
		w.Headers, w.Users = []hookd.Header{}, []hookd.WebhookUser{}
		hooks = append(hooks, &w)
		byID[w.ID] = &w
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	if len(hooks) == 0 {
		return hooks, nil
	}

	ids := idList(hooks)
	headers, err := readHeaders(ctx, q, ids)
	if err != nil {
		return nil, err
	}
	for _, h := range headers {
		w := byID[h.WebhookID]
		w.Headers = append(w.Headers, h)
	}
	users, err := q.QueryContext(ctx, `SELECT id, webhook_id, user_id, created_at, updated_at FROM webhook_users
		WHERE webhook_id IN (SELECT value FROM json_each(?)) ORDER BY webhook_id, id`, ids)
	if err != nil {
		return nil, err
	}
	defer users.Close()
	for users.Next() {
		var (
			u                hookd.WebhookUser
			created, updated int64
		)
		if err := users.Scan(&u.ID, &u.WebhookID, &u.UserID, &created, &updated); err != nil {
			return nil, err
		}
		u.CreatedAt, u.UpdatedAt = fromMS(created), fromMS(updated)
		w := byID[u.WebhookID]
		w.Users = append(w.Users, u)
	}
	return hooks, users.Err()
}

// latestRun is the stored latest run, nil when there is none.
func latestRun(at sql.NullInt64, success sql.NullBool, status, duration sql.NullInt64, event sql.NullString) *hookd.Run {
	if !at.Valid {
		return nil
	}
	return &hookd.Run{At: fromMS(at.Int64), Success: success.Bool, HTTPStatus: int(status.Int64),
		Duration: time.Duration(duration.Int64), Event: event.String}
}

// readHeaders returns the headers of the webhooks in ids (a JSON array),
// in the order they were added.
func readHeaders(ctx context.Context, q querier, ids string) ([]hookd.Header, error) {
	rows, err := q.QueryContext(ctx, headersSQL, ids)
	if err != nil {
		return nil, err
	}
	return scanHeaders(rows)
}

// headersSQL reads the headers of the webhooks in a JSON array of ids.
const headersSQL = `SELECT id, webhook_id, header_key, header_value, hidden, is_hmac, created_at, updated_at
	FROM webhook_headers WHERE webhook_id IN (SELECT value FROM json_each(?)) ORDER BY webhook_id, id`

// scanHeaders reads and closes rows of headersSQL.
func scanHeaders(rows *sql.Rows) ([]hookd.Header, error) {
	defer rows.Close()
	var out []hookd.Header
	for rows.Next() {
		h, err := scanHeader(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *h)
	}
	return out, rows.Err()
}

func scanHeader(sc interface{ Scan(...any) error }) (*hookd.Header, error) {
	var (
		h                hookd.Header
		created, updated int64
	)
	if err := sc.Scan(&h.ID, &h.WebhookID, &h.Key, &h.Value, &h.Hidden, &h.IsHMAC, &created, &updated); err != nil {
		return nil, err
	}
	h.CreatedAt, h.UpdatedAt = fromMS(created), fromMS(updated)
	return &h, nil
}

// idList is the webhooks' ids as a JSON array, the one parameter that
// json_each turns into an IN list of any length.
func idList(hooks []*hookd.Webhook) string {
	ids := make([]int64, len(hooks))
	for i, w := range hooks {
		ids[i] = w.ID
	}
	return int64s(ids)
}

func int64s(ids []int64) string {
	b, _ := json.Marshal(nonNil(ids))
	return string(b)
}

// Webhook returns one webhook with its headers, users and live figures.
func (s *Store) Webhook(ctx context.Context, id int64) (*hookd.Webhook, error) {
	var hooks []*hookd.Webhook
	err := s.inReadTx(ctx, func(tx *sql.Tx) (err error) {
		hooks, err = readWebhooks(ctx, tx, s.clock.Now(), "WHERE w.id = ?", id)
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(hooks) == 0 {
		return nil, hookd.ErrNotFound
	}
	return hooks[0], nil
}

// UpdateWebhook applies u and returns the webhook as stored. TriggerEvents
// replaces the list; ClearProject wins over ProjectID. Disabling or
// enabling it does what hookd.ChangeDisabled says. UpdatedAt moves only
// when something changed.
func (s *Store) UpdateWebhook(ctx context.Context, id int64, u hookd.WebhookUpdate) (*hookd.Webhook, error) {
	var out *hookd.Webhook
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		hooks, err := readWebhooks(ctx, tx, s.clock.Now(), "WHERE w.id = ?", id)
		if err != nil {
			return err
		}
		if len(hooks) == 0 {
			return hookd.ErrNotFound
		}
		cur := hooks[0]
		if p := u.ProjectToCheck(*cur); p != nil {
			if err := projectExists(ctx, tx, *p); err != nil {
				return err
			}
		}
		w, changed := u.Apply(*cur)
		out = &w
		if !changed {
			return nil
		}
		events, err := json.Marshal(w.TriggerEvents)
		if err != nil {
			return err
		}
		var failing sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT failing_since FROM webhooks WHERE id = ?`, id).Scan(&failing); err != nil {
			return err
		}
		w.UpdatedAt = s.clock.Now()
		change := hookd.ChangeDisabled(cur.Disabled, w.Disabled)
		_, err = tx.ExecContext(ctx, `UPDATE webhooks SET name = ?, http_url = ?, http_method = ?, trigger_events = ?,
			project_id = ?, disabled = ?, updated_at = ?, failing_since = ?
			WHERE id = ?`,
			w.Name, w.HTTPURL, w.HTTPMethod, string(events), nullString(w.ProjectID), w.Disabled, ms(w.UpdatedAt),
			nullMS(change.FailingSince(timePtr(failing))), id)
		if err != nil {
			return err
		}
		return applyDisabledChange(ctx, tx, id, change, w.UpdatedAt)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteWebhook deletes a webhook; its headers, users, deliveries (queued
// or not) and log go with it through ON DELETE CASCADE. Its events stay:
// other webhooks may have received them.
func (s *Store) DeleteWebhook(ctx context.Context, id int64) error {
	res, err := s.exec(ctx, `DELETE FROM webhooks WHERE id = ?`, id)
	if err != nil {
		return mapErr(err)
	}
	return mapErr(affected(res))
}

// AddHeader adds h to its webhook (ErrNotFound when there is none).
func (s *Store) AddHeader(ctx context.Context, h *hookd.Header) error {
	n := *h
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := webhookExists(ctx, tx, n.WebhookID); err != nil {
			return err
		}
		return insertHeader(ctx, tx, &n, s.clock.Now())
	})
	if err != nil {
		return err
	}
	*h = n
	return nil
}

func insertHeader(ctx context.Context, tx *sql.Tx, h *hookd.Header, now time.Time) error {
	created, updated := hookd.Stamps(h.CreatedAt, h.UpdatedAt, now)
	err := tx.QueryRowContext(ctx, `INSERT INTO webhook_headers
		(webhook_id, header_key, header_value, hidden, is_hmac, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		h.WebhookID, h.Key, h.Value, h.Hidden, h.IsHMAC, ms(created), ms(updated)).Scan(&h.ID)
	if err != nil {
		return err
	}
	h.CreatedAt, h.UpdatedAt = created, updated
	return nil
}

// UpdateHeader applies u to header headerID of webhook webhookID; a header
// of another webhook is ErrNotFound.
func (s *Store) UpdateHeader(ctx context.Context, webhookID, headerID int64, u hookd.HeaderUpdate) (*hookd.Header, error) {
	var h *hookd.Header
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		h, err = scanHeader(tx.QueryRowContext(ctx, `SELECT id, webhook_id, header_key, header_value, hidden, is_hmac, created_at, updated_at
			FROM webhook_headers WHERE id = ? AND webhook_id = ?`, headerID, webhookID))
		if err != nil {
			return notFound(err)
		}
		next, err := u.Apply(*h)
		if err != nil || next == *h {
			return err
		}
		*h = next
		h.UpdatedAt = s.clock.Now()
		_, err = tx.ExecContext(ctx, `UPDATE webhook_headers SET header_key = ?, header_value = ?, hidden = ?, is_hmac = ?, updated_at = ?
			WHERE id = ?`, h.Key, h.Value, h.Hidden, h.IsHMAC, ms(h.UpdatedAt), h.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return h, nil
}

// DeleteHeader deletes header headerID of webhook webhookID.
func (s *Store) DeleteHeader(ctx context.Context, webhookID, headerID int64) error {
	res, err := s.exec(ctx, `DELETE FROM webhook_headers WHERE id = ? AND webhook_id = ?`, headerID, webhookID)
	if err != nil {
		return mapErr(err)
	}
	return mapErr(affected(res))
}

// AddUser restricts u's webhook to events of u.UserID as well. The webhook
// must exist (ErrNotFound); a user already on it is ErrConflict.
func (s *Store) AddUser(ctx context.Context, u *hookd.WebhookUser) error {
	n := *u
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := webhookExists(ctx, tx, n.WebhookID); err != nil {
			return err
		}
		return insertUser(ctx, tx, &n, s.clock.Now())
	})
	if err != nil {
		return err
	}
	*u = n
	return nil
}

func insertUser(ctx context.Context, tx *sql.Tx, u *hookd.WebhookUser, now time.Time) error {
	created, updated := hookd.Stamps(u.CreatedAt, u.UpdatedAt, now)
	err := tx.QueryRowContext(ctx, `INSERT INTO webhook_users (webhook_id, user_id, created_at, updated_at)
		VALUES (?, ?, ?, ?) RETURNING id`, u.WebhookID, u.UserID, ms(created), ms(updated)).Scan(&u.ID)
	if isUnique(err) {
		return hookd.ErrConflict
	}
	if err != nil {
		return err
	}
	u.CreatedAt, u.UpdatedAt = created, updated
	return nil
}

// DeleteUser removes the webhook_users row webhookUserID (its id, not the
// user's) from webhook webhookID.
func (s *Store) DeleteUser(ctx context.Context, webhookID, webhookUserID int64) error {
	res, err := s.exec(ctx, `DELETE FROM webhook_users WHERE id = ? AND webhook_id = ?`, webhookUserID, webhookID)
	if err != nil {
		return mapErr(err)
	}
	return mapErr(affected(res))
}

// Secrets returns the webhook's signing secrets valid now.
func (s *Store) Secrets(ctx context.Context, webhookID int64) ([]string, error) {
	secrets, err := readSecrets(ctx, s.r, webhookID)
	if err != nil {
		return nil, mapErr(err)
	}
	return secrets.ValidAt(s.clock.Now()), nil
}

func readSecrets(ctx context.Context, q querier, webhookID int64) (hookd.SigningSecrets, error) {
	var (
		current  string
		previous sql.NullString
		until    sql.NullInt64
	)
	err := q.QueryRowContext(ctx, `SELECT signing_secret, previous_secret, previous_secret_expires_at
		FROM webhooks WHERE id = ?`, webhookID).Scan(&current, &previous, &until)
	if err != nil {
		return hookd.SigningSecrets{}, notFound(err)
	}
	return signingSecrets(current, previous, until), nil
}

func signingSecrets(current string, previous sql.NullString, until sql.NullInt64) hookd.SigningSecrets {
	return hookd.SigningSecrets{Current: current, Previous: previous.String, PreviousValidUntil: fromMS(until.Int64)}
}

// RotateSecret rotates the webhook's signing secrets (SigningSecrets.Rotate).
func (s *Store) RotateSecret(ctx context.Context, webhookID int64, secret string, previousValidUntil time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		cur, err := readSecrets(ctx, tx, webhookID)
		if err != nil {
			return err
		}
		next := cur.Rotate(secret, previousValidUntil)
		_, err = tx.ExecContext(ctx, `UPDATE webhooks SET signing_secret = ?, previous_secret = ?,
			previous_secret_expires_at = ? WHERE id = ?`, next.Current, next.Previous, ms(next.PreviousValidUntil), webhookID)
		return err
	})
}

// applyDisabledChange parks or unparks webhook id's pending deliveries not
// in flight at now (no lease, or one that has ended) as change says
// (hookd.ChangeDisabled), in the transaction that changed its Disabled;
// those blocked in an ordered lane stay blocked.
func applyDisabledChange(ctx context.Context, tx *sql.Tx, id int64, change hookd.DisabledChange, now time.Time) error {
	var err error
	switch {
	case change.Park:
		_, err = tx.ExecContext(ctx, `UPDATE deliveries SET next_attempt_at = ?1
			WHERE webhook_id = ?2 AND state = 'pending' AND (leased_by IS NULL OR lease_until <= ?3)
			  AND next_attempt_at <> ?4`,
			ms(hookd.ParkedUntil), id, ms(now), ms(hookd.LaneBlocked))
	case change.Unpark:
		_, err = tx.ExecContext(ctx, `UPDATE deliveries SET next_attempt_at = ?1
			WHERE webhook_id = ?2 AND state = 'pending' AND (leased_by IS NULL OR lease_until <= ?1)
			  AND next_attempt_at > ?1 AND next_attempt_at <> ?3`, ms(now), id, ms(hookd.LaneBlocked))
	}
	return err
}

func webhookExists(ctx context.Context, q querier, id int64) error {
	var one int
	return notFound(q.QueryRowContext(ctx, `SELECT 1 FROM webhooks WHERE id = ?`, id).Scan(&one))
}

func projectExists(ctx context.Context, q querier, id string) error {
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM projects WHERE id = ?`, id).Scan(&one)
	if err == sql.ErrNoRows {
		return hookd.ErrProjectNotFound
	}
	return err
}

// nonNil returns s, or an empty slice for nil: the API answers [] and
// never null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
