package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hookd/hookd"
)

// querier is what the pool and a transaction have in common.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

const webhookCols = `id, name, http_url, http_method, trigger_events, project_id, disabled, created_at, updated_at,
	last_run_at, last_run_success, last_run_status, last_run_duration_ns, last_run_event`

func scanWebhook(row pgx.CollectableRow) (*hookd.Webhook, error) {
	var (
		w         hookd.Webhook
		runAt     *time.Time
		runOK     *bool
		runStatus *int
		runDur    *int64
		runEvent  *string
	)
	err := row.Scan(&w.ID, &w.Name, &w.HTTPURL, &w.HTTPMethod, &w.TriggerEvents, &w.ProjectID, &w.Disabled, &w.CreatedAt, &w.UpdatedAt,
		&runAt, &runOK, &runStatus, &runDur, &runEvent)
	if runAt != nil {
		r := &hookd.Run{At: *runAt}
		if runOK != nil {
			r.Success = *runOK
		}
		if runStatus != nil {
			r.HTTPStatus = *runStatus
		}
		if runDur != nil {
			r.Duration = time.Duration(*runDur)
		}
		if runEvent != nil {
			r.Event = *runEvent
		}
		w.LatestRun = r
	}
	w.TriggerEvents = nonNil(w.TriggerEvents)
	w.Headers, w.Users = []hookd.Header{}, []hookd.WebhookUser{}
	return &w, err
}

const headerCols = `id, webhook_id, header_key, header_value, hidden, is_hmac, created_at, updated_at`

func scanHeader(row pgx.CollectableRow) (*hookd.Header, error) {
	var h hookd.Header
	err := row.Scan(&h.ID, &h.WebhookID, &h.Key, &h.Value, &h.Hidden, &h.IsHMAC, &h.CreatedAt, &h.UpdatedAt)
	return &h, err
}

const userCols = `id, webhook_id, user_id, created_at, updated_at`

func scanUser(row pgx.CollectableRow) (*hookd.WebhookUser, error) {
	var u hookd.WebhookUser
	err := row.Scan(&u.ID, &u.WebhookID, &u.UserID, &u.CreatedAt, &u.UpdatedAt)
	return &u, err
}

// nonNil returns s, or an empty slice for nil: the API answers [] and never
// null, and both stores return the same.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// checkProject returns ErrProjectNotFound unless id is registered.
func checkProject(ctx context.Context, q querier, id string) error {
	var ok bool
	if err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM projects WHERE id = $1)`, id).Scan(&ok); err != nil {
		return wrapErr(err)
	}
	if !ok {
		return fmt.Errorf("project %q: %w", id, hookd.ErrProjectNotFound)
	}
	return nil
}

// CreateWebhook stores w with its signing secret (a new one when empty),
// and its Headers and Users when it has any, in one transaction. Once
// committed, it sets the IDs (and the times when zero) in w.
func (s *Store) CreateWebhook(ctx context.Context, w *hookd.Webhook, signingSecret string) error {
	if signingSecret == "" {
		signingSecret = hookd.NewSigningSecret()
	}
	created, updated := hookd.Stamps(w.CreatedAt, w.UpdatedAt, s.clock.Now())
	triggers := nonNil(w.TriggerEvents)
	headers := slices.Clone(w.Headers)
	users := slices.Clone(w.Users)
	var id int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if w.ProjectID != nil {
			if err := checkProject(ctx, tx, *w.ProjectID); err != nil {
				return err
			}
		}
		if err := tx.QueryRow(ctx, `
			INSERT INTO webhooks (name, http_url, http_method, trigger_events, project_id, disabled, created_at, updated_at, signing_secret)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
			w.Name, w.HTTPURL, w.HTTPMethod, triggers, w.ProjectID, w.Disabled, created, updated, signingSecret,
		).Scan(&id); err != nil {
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
		return wrapErr(err)
	}
	w.ID, w.CreatedAt, w.UpdatedAt = id, created, updated
	w.TriggerEvents = triggers
	w.Headers, w.Users = nonNil(headers), nonNil(users)
	w.QueueLength, w.RetryQueueLength, w.LatestRun = 0, 0, nil
	return nil
}

// Webhook reads webhook id with its headers, users and live figures.
func (s *Store) Webhook(ctx context.Context, id int64) (*hookd.Webhook, error) {
	ws, err := loadWebhooks(ctx, s.pool, s.clock.Now(), `WHERE id = $1`, id)
	if err != nil {
		return nil, err
	}
	if len(ws) == 0 {
		return nil, fmt.Errorf("webhook %d: %w", id, hookd.ErrNotFound)
	}
	return ws[0], nil
}

// loadWebhooks reads the webhooks that tail (a WHERE clause, and ORDER BY
// and LIMIT where they matter) selects, with their latest runs, then, in
// one round trip, their headers, users and queue figures at now.
func loadWebhooks(ctx context.Context, q querier, now time.Time, tail string, args ...any) ([]*hookd.Webhook, error) {
	rows, _ := q.Query(ctx, `SELECT `+webhookCols+` FROM webhooks w `+tail, args...)
	ws, err := pgx.CollectRows(rows, scanWebhook)
	if err != nil {
		return nil, wrapErr(err)
	}
	if len(ws) == 0 {
		return ws, nil
	}
	ids := make([]int64, len(ws))
	byID := make(map[int64]*hookd.Webhook, len(ws))
	for i, w := range ws {
		ids[i] = w.ID
		byID[w.ID] = w
	}

	b := &pgx.Batch{}
	b.Queue(`SELECT `+headerCols+` FROM webhook_headers WHERE webhook_id = ANY($1) ORDER BY id`, ids).
		Query(func(rows pgx.Rows) error {
			hs, err := pgx.CollectRows(rows, scanHeader)
			for _, h := range hs {
				w := byID[h.WebhookID]
				w.Headers = append(w.Headers, *h)
			}
			return err
		})
	b.Queue(`SELECT `+userCols+` FROM webhook_users WHERE webhook_id = ANY($1) ORDER BY id`, ids).
		Query(func(rows pgx.Rows) error {
			us, err := pgx.CollectRows(rows, scanUser)
			for _, u := range us {
				w := byID[u.WebhookID]
				w.Users = append(w.Users, *u)
			}
			return err
		})
	// queue_length and retry_queue_length as hookd.QueueStats defines
	// them: in flight is leased with a lease that has not ended at now; a
	// delivery whose lease ended (its worker died, or its webhook was
	// disabled before the attempt) counts by its attempts again. One scan
	// of the webhooks' pending deliveries, which reads each row for its
	// attempts and lease.
	b.Queue(`
		SELECT webhook_id,
		       count(*) FILTER (WHERE attempts = 0 OR (leased_by IS NOT NULL AND lease_until > $2)),
		       count(*) FILTER (WHERE attempts > 0 AND (leased_by IS NULL OR lease_until <= $2))
		FROM deliveries
		WHERE state = 'pending' AND webhook_id = ANY($1)
		GROUP BY webhook_id`, ids, now).
		Query(func(rows pgx.Rows) error {
			var id int64
			var queue, retry int
			_, err := pgx.ForEachRow(rows, []any{&id, &queue, &retry}, func() error {
				byID[id].QueueLength, byID[id].RetryQueueLength = queue, retry
				return nil
			})
			return err
		})
	if err := q.SendBatch(ctx, b).Close(); err != nil {
		return nil, wrapErr(err)
	}
	return ws, nil
}

// UpdateWebhook applies u to webhook id and returns it as stored.
// TriggerEvents replaces the list; ClearProject wins over ProjectID.
// UpdatedAt moves only when something changed. Disabling or enabling it
// does what hookd.ChangeDisabled says.
func (s *Store) UpdateWebhook(ctx context.Context, id int64, u hookd.WebhookUpdate) (*hookd.Webhook, error) {
	var out *hookd.Webhook
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var failing *time.Time
		err := tx.QueryRow(ctx, `SELECT failing_since FROM webhooks WHERE id = $1 FOR NO KEY UPDATE`, id).Scan(&failing)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("webhook %d: %w", id, hookd.ErrNotFound)
		}
		if err != nil {
			return err
		}
		ws, err := loadWebhooks(ctx, tx, s.clock.Now(), `WHERE id = $1`, id) // found: it is locked
		if err != nil {
			return err
		}
		cur := ws[0]
		if p := u.ProjectToCheck(*cur); p != nil {
			if err := checkProject(ctx, tx, *p); err != nil {
				return err
			}
		}
		w, changed := u.Apply(*cur)
		out = &w
		if !changed {
			return nil
		}
		w.UpdatedAt = s.clock.Now()
		change := hookd.ChangeDisabled(cur.Disabled, w.Disabled)
		b := &pgx.Batch{}
		b.Queue(`
			UPDATE webhooks SET name = $2, http_url = $3, http_method = $4, trigger_events = $5, project_id = $6,
				disabled = $7, updated_at = $8, failing_since = $9
			WHERE id = $1`,
			id, w.Name, w.HTTPURL, w.HTTPMethod, w.TriggerEvents, w.ProjectID, w.Disabled, w.UpdatedAt,
			change.FailingSince(failing))
		queueDisabledChange(b, []int64{id}, change, w.UpdatedAt)
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return nil, wrapErr(err)
	}
	return out, nil
}

// DeleteWebhook deletes webhook id with its headers, users, queued
// deliveries and log.
func (s *Store) DeleteWebhook(ctx context.Context, id int64) error {
	var deleted int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// The claim lock first: a claim that serves the webhook ends before
		// it goes (its webhook_claims row would otherwise refer to a
		// webhook deleted meanwhile), and none starts until it has gone.
		b := &pgx.Batch{}
		b.Queue(`SELECT pg_advisory_xact_lock(`+claimKey+`) FROM (SELECT $1::bigint AS id) w`, id)
		b.Queue(`DELETE FROM webhooks WHERE id = $1`, id).Exec(func(tag pgconn.CommandTag) error {
			deleted = tag.RowsAffected()
			return nil
		})
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return wrapErr(err)
	}
	if deleted == 0 {
		return fmt.Errorf("webhook %d: %w", id, hookd.ErrNotFound)
	}
	return nil
}

func insertHeader(ctx context.Context, q querier, h *hookd.Header, now time.Time) error {
	created, updated := hookd.Stamps(h.CreatedAt, h.UpdatedAt, now)
	err := q.QueryRow(ctx, `
		INSERT INTO webhook_headers (webhook_id, header_key, header_value, hidden, is_hmac, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		h.WebhookID, h.Key, h.Value, h.Hidden, h.IsHMAC, created, updated).Scan(&h.ID)
	if isCode(err, codeForeignKeyViolation) {
		return fmt.Errorf("webhook %d: %w", h.WebhookID, hookd.ErrNotFound)
	}
	if err != nil {
		return err
	}
	h.CreatedAt, h.UpdatedAt = created, updated
	return nil
}

func insertUser(ctx context.Context, q querier, u *hookd.WebhookUser, now time.Time) error {
	created, updated := hookd.Stamps(u.CreatedAt, u.UpdatedAt, now)
	// The NOT EXISTS keeps a repeated user from drawing an id from the
	// sequence, so ids stay dense as on SQLite; the unique index still
	// settles a race.
	err := q.QueryRow(ctx, `
		INSERT INTO webhook_users (webhook_id, user_id, created_at, updated_at)
		SELECT $1::bigint, $2::bigint, $3::timestamptz, $4::timestamptz
		WHERE NOT EXISTS (SELECT 1 FROM webhook_users WHERE webhook_id = $1 AND user_id = $2)
		RETURNING id`,
		u.WebhookID, u.UserID, created, updated).Scan(&u.ID)
	if isCode(err, codeForeignKeyViolation) {
		return fmt.Errorf("webhook %d: %w", u.WebhookID, hookd.ErrNotFound)
	}
	if isCode(err, codeUniqueViolation) || errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("user %d of webhook %d: %w", u.UserID, u.WebhookID, hookd.ErrConflict)
	}
	if err != nil {
		return err
	}
	u.CreatedAt, u.UpdatedAt = created, updated
	return nil
}

// AddHeader adds h to webhook h.WebhookID (ErrNotFound when there is no
// such webhook) and sets its ID and times.
func (s *Store) AddHeader(ctx context.Context, h *hookd.Header) error {
	n := *h
	if err := insertHeader(ctx, s.pool, &n, s.clock.Now()); err != nil {
		return wrapErr(err)
	}
	*h = n
	return nil
}

// UpdateHeader applies u to header headerID of webhook webhookID (a
// header of another webhook is ErrNotFound). UpdatedAt moves only when
// something changed.
func (s *Store) UpdateHeader(ctx context.Context, webhookID, headerID int64, u hookd.HeaderUpdate) (*hookd.Header, error) {
	var h *hookd.Header
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `SELECT `+headerCols+` FROM webhook_headers WHERE webhook_id = $1 AND id = $2 FOR UPDATE`,
			webhookID, headerID)
		cur, err := pgx.CollectExactlyOneRow(rows, scanHeader)
		if err != nil {
			return err
		}
		next, err := u.Apply(*cur)
		if err != nil || next == *cur {
			h = cur
			return err
		}
		next.UpdatedAt = s.clock.Now()
		h = &next
		_, err = tx.Exec(ctx, `UPDATE webhook_headers SET header_key = $3, header_value = $4, hidden = $5, is_hmac = $6, updated_at = $7
			WHERE webhook_id = $1 AND id = $2`, webhookID, headerID, next.Key, next.Value, next.Hidden, next.IsHMAC, next.UpdatedAt)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("header %d of webhook %d: %w", headerID, webhookID, wrapErr(err))
	}
	return h, nil
}

// DeleteHeader deletes header headerID of webhook webhookID.
func (s *Store) DeleteHeader(ctx context.Context, webhookID, headerID int64) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM webhook_headers WHERE webhook_id = $1 AND id = $2`, webhookID, headerID)
	if err != nil {
		return wrapErr(err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("header %d of webhook %d: %w", headerID, webhookID, hookd.ErrNotFound)
	}
	return nil
}

// AddUser restricts webhook u.WebhookID to u.UserID's events as well (among
// the other users'), and sets u's ID and times. An unknown webhook is
// ErrNotFound, a user already on it ErrConflict.
func (s *Store) AddUser(ctx context.Context, u *hookd.WebhookUser) error {
	n := *u
	if err := insertUser(ctx, s.pool, &n, s.clock.Now()); err != nil {
		return wrapErr(err)
	}
	*u = n
	return nil
}

// DeleteUser removes the webhook user row webhookUserID of webhook
// webhookID.
func (s *Store) DeleteUser(ctx context.Context, webhookID, webhookUserID int64) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM webhook_users WHERE webhook_id = $1 AND id = $2`, webhookID, webhookUserID)
	if err != nil {
		return wrapErr(err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("user %d of webhook %d: %w", webhookUserID, webhookID, hookd.ErrNotFound)
	}
	return nil
}

// Secrets returns webhook webhookID's signing secrets valid now.
func (s *Store) Secrets(ctx context.Context, webhookID int64) ([]string, error) {
	secrets, err := readSecrets(ctx, s.pool, webhookID, "")
	if err != nil {
		return nil, err
	}
	return secrets.ValidAt(s.clock.Now()), nil
}

// readSecrets reads webhook webhookID's signing secrets; lock is a locking
// clause for the row, or "".
func readSecrets(ctx context.Context, q querier, webhookID int64, lock string) (hookd.SigningSecrets, error) {
	var cur string
	var prev *string
	var until *time.Time
	err := q.QueryRow(ctx, `
		SELECT signing_secret, previous_secret, previous_secret_expires_at FROM webhooks WHERE id = $1 `+lock,
		webhookID).Scan(&cur, &prev, &until)
	if err != nil {
		return hookd.SigningSecrets{}, fmt.Errorf("webhook %d: %w", webhookID, wrapErr(err))
	}
	return signingSecrets(cur, prev, until), nil
}

func signingSecrets(cur string, prev *string, until *time.Time) hookd.SigningSecrets {
	s := hookd.SigningSecrets{Current: cur}
	if prev != nil && until != nil {
		s.Previous, s.PreviousValidUntil = *prev, *until
	}
	return s
}

// RotateSecret rotates webhook webhookID's signing secrets
// (SigningSecrets.Rotate).
func (s *Store) RotateSecret(ctx context.Context, webhookID int64, secret string, previousValidUntil time.Time) error {
	return wrapErr(pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		cur, err := readSecrets(ctx, tx, webhookID, "FOR NO KEY UPDATE")
		if err != nil {
			return err
		}
		next := cur.Rotate(secret, previousValidUntil)
		_, err = tx.Exec(ctx, `
			UPDATE webhooks SET signing_secret = $2, previous_secret = $3, previous_secret_expires_at = $4
			WHERE id = $1`, webhookID, next.Current, next.Previous, next.PreviousValidUntil)
		return err
	}))
}
