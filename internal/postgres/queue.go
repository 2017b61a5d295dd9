package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd"
)

// Claim leases up to limit due deliveries to worker until now+lease, oldest
// due first, and returns them by id. Rows another claimer is taking are
// skipped (FOR UPDATE SKIP LOCKED), so concurrent claimers, in this process
// or another, never get the same delivery. Deliveries of a disabled webhook
// are not claimed: they wait until it is enabled again. The claim moves next_attempt_at
// to the end of the lease: a delivery whose worker died is due again then.
func (s *Store) Claim(ctx context.Context, worker string, limit int, lease time.Duration) ([]*hookd.Delivery, error) {
	if limit <= 0 {
		return []*hookd.Delivery{}, nil
	}
	now := s.clock.Now()
	rows, _ := s.pool.Query(ctx, `
		WITH picked AS MATERIALIZED (
			SELECT id FROM deliveries
			WHERE state = 'pending' AND next_attempt_at <= $3
			  AND NOT EXISTS (SELECT 1 FROM webhooks w WHERE w.id = deliveries.webhook_id AND w.disabled)
			ORDER BY next_attempt_at, id
			LIMIT $4
			FOR UPDATE SKIP LOCKED
		), claimed AS (
			UPDATE deliveries d SET leased_by = $1, lease_until = $2, next_attempt_at = $2
			FROM picked WHERE d.id = picked.id
			RETURNING d.id, d.webhook_id, d.message_id, d.event_id, d.attempts, d.created_at
		)
		SELECT c.id, c.webhook_id, c.message_id, c.attempts, c.created_at,
		       e.id, e.event, e.project_id, e.user_id, e.data, e.created_at, e.trace_parent
		FROM claimed c JOIN events e ON e.id = c.event_id
		ORDER BY c.id`,
		worker, ms(now.Add(lease)), now, limit)
	ds, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*hookd.Delivery, error) {
		var d hookd.Delivery
		var data []byte
		err := row.Scan(&d.ID, &d.WebhookID, &d.MessageID, &d.Attempts, &d.CreatedAt,
			&d.Event.ID, &d.Event.Event, &d.Event.ProjectID, &d.Event.UserID, &data, &d.Event.CreatedAt, &d.Event.TraceParent)
		d.Event.Data = json.RawMessage(data)
		return &d, err
	})
	if err != nil {
		return nil, wrapErr(err)
	}
	return ds, nil
}

// Targets returns what the sender needs for each of webhookIDs that
// exists.
func (s *Store) Targets(ctx context.Context, webhookIDs []int64) (map[int64]*hookd.Target, error) {
	out := make(map[int64]*hookd.Target, len(webhookIDs))
	if len(webhookIDs) == 0 {
		return out, nil
	}
	now := s.clock.Now()
	b := &pgx.Batch{}
	b.Queue(`
		SELECT id, http_url, http_method, disabled, signing_secret, previous_secret, previous_secret_expires_at
		FROM webhooks WHERE id = ANY($1)`, webhookIDs).
		Query(func(rows pgx.Rows) error {
			var t hookd.Target
			var cur string
			var prev *string
			var until *time.Time
			_, err := pgx.ForEachRow(rows, []any{&t.WebhookID, &t.URL, &t.Method, &t.Disabled, &cur, &prev, &until}, func() error {
				tt := t
				tt.Secrets = secretsAt(cur, prev, until, now)
				tt.Headers = []hookd.Header{}
				out[t.WebhookID] = &tt
				return nil
			})
			return err
		})
	var headers []*hookd.Header
	b.Queue(`SELECT `+headerCols+` FROM webhook_headers WHERE webhook_id = ANY($1) ORDER BY id`, webhookIDs).
		Query(func(rows pgx.Rows) error {
			var err error
			headers, err = pgx.CollectRows(rows, scanHeader)
			return err
		})
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, wrapErr(err)
	}
	for _, h := range headers {
		if t := out[h.WebhookID]; t != nil {
			t.Headers = append(t.Headers, *h)
		}
	}
	return out, nil
}

// lockWebhooksSQL locks, in id order, the webhooks of the deliveries that
// Complete is about to record, so that concurrent Completes (and
// DeleteWebhook, which locks the webhook before its deliveries) take their
// locks in one order and cannot deadlock.
const lockWebhooksSQL = `
SELECT id FROM webhooks
WHERE id IN (SELECT webhook_id FROM deliveries WHERE id = ANY($1))
ORDER BY id
FOR NO KEY UPDATE`

// completeSQL records one round of results (for distinct deliveries) in
// one statement: it finishes or reschedules the deliveries that are still
// pending and, when the result names its worker, still leased to that
// worker (a result for a vanished or finished delivery, or one whose lease
// expired and was taken over by another claim, is dropped), logs
// an attempt for each, and updates each webhook once: its latest run (only
// by a later one), its failure streak and its disabling by a 410.
//
// failing_since is the first failure after the latest success: a success
// at t ends a streak that started at or before t, and a failure counts only
// when it is later than the latest success ever recorded
// (last_success_at), so results that workers record out of order give the
// same streak as in order.
const completeSQL = `
WITH r AS (
	SELECT * FROM unnest($1::bigint[], $2::int[], $3::timestamptz[], $4::bool[], $5::int[], $6::bigint[],
	                     $7::text[], $8::text[], $9::jsonb[], $10::text[], $11::timestamptz[], $12::bool[], $14::text[])
		WITH ORDINALITY AS r(delivery_id, attempt, at, success, http_status, duration_ns,
		                     error_class, error, request_headers, response_body, next_attempt_at, disable, worker, ord)
), d AS (
	UPDATE deliveries d SET
		attempts        = d.attempts + 1,
		last_attempt_at = r.at,
		leased_by       = NULL,
		lease_until     = NULL,
		state           = CASE WHEN r.success THEN 'succeeded'
		                       WHEN r.next_attempt_at IS NOT NULL THEN 'pending'
		                       ELSE 'failed' END,
		next_attempt_at = CASE WHEN NOT r.success AND r.next_attempt_at IS NOT NULL THEN r.next_attempt_at
		                       ELSE d.next_attempt_at END,
		finished_at     = CASE WHEN r.success OR r.next_attempt_at IS NULL THEN r.at END
	FROM r
	WHERE d.id = r.delivery_id AND d.state = 'pending' AND (r.worker = '' OR d.leased_by = r.worker)
	RETURNING d.id, d.webhook_id, d.event_id, d.message_id, d.attempts
), per AS (
	SELECT d.id AS delivery_id, d.webhook_id, d.event_id, d.message_id, e.event,
	       CASE WHEN r.attempt > 0 THEN r.attempt ELSE d.attempts END AS attempt,
	       r.at, r.success, r.http_status, r.duration_ns, r.error_class, r.error, r.request_headers,
	       r.response_body, r.next_attempt_at, r.disable, r.ord
	FROM d JOIN r ON r.delivery_id = d.id JOIN events e ON e.id = d.event_id
), logged AS (
	INSERT INTO attempts (delivery_id, webhook_id, event_id, event, message_id, attempt, success, http_status,
	                      duration_ns, error_class, error, request_headers, response_body, created_at, next_attempt_at)
	SELECT p.delivery_id, p.webhook_id, p.event_id, p.event, p.message_id, p.attempt, p.success, p.http_status,
	       p.duration_ns, p.error_class, p.error, p.request_headers, p.response_body, p.at,
	       CASE WHEN p.success THEN NULL ELSE p.next_attempt_at END
	FROM per p
	ORDER BY p.ord
), streak AS (
	SELECT webhook_id, max(at) FILTER (WHERE success) AS ok_at, bool_or(disable) AS disable
	FROM per GROUP BY webhook_id
), latest AS (
	SELECT DISTINCT ON (webhook_id) webhook_id, at, success, http_status, duration_ns, event
	FROM per ORDER BY webhook_id, at DESC, ord DESC
), hooks AS (
	UPDATE webhooks w SET
		failing_since = least(
			CASE WHEN s.ok_at IS NOT NULL AND w.failing_since <= s.ok_at THEN NULL ELSE w.failing_since END,
			(SELECT min(p.at) FROM per p
			 WHERE p.webhook_id = w.id AND NOT p.success
			   AND (greatest(w.last_success_at, s.ok_at) IS NULL OR p.at > greatest(w.last_success_at, s.ok_at)))),
		last_success_at = greatest(w.last_success_at, s.ok_at),
		disabled      = w.disabled OR s.disable,
		updated_at    = CASE WHEN s.disable AND NOT w.disabled THEN $13 ELSE w.updated_at END,
		-- the stored run stays only when it is later (NULL > x is not true)
		last_run_at          = CASE WHEN w.last_run_at > l.at THEN w.last_run_at ELSE l.at END,
		last_run_success     = CASE WHEN w.last_run_at > l.at THEN w.last_run_success ELSE l.success END,
		last_run_status      = CASE WHEN w.last_run_at > l.at THEN w.last_run_status ELSE l.http_status END,
		last_run_duration_ns = CASE WHEN w.last_run_at > l.at THEN w.last_run_duration_ns ELSE l.duration_ns END,
		last_run_event       = CASE WHEN w.last_run_at > l.at THEN w.last_run_event ELSE l.event END
	FROM streak s JOIN latest l ON l.webhook_id = s.webhook_id
	WHERE w.id = s.webhook_id
)
SELECT count(*) FROM d`

// Complete records results in one transaction: an attempt log entry each
// (an Attempt of 0 is numbered after the delivery's previous attempts), and
// each delivery succeeded, rescheduled or failed for good; the webhooks'
// latest runs and failure streaks follow. A result for a delivery that no
// longer exists (its webhook was deleted), is no longer pending, or whose
// lease its Worker no longer holds (it expired and another claim took the
// delivery over) is dropped: no log entry, no attempt counted. A
// DisableWebhook result disables the webhook.
func (s *Store) Complete(ctx context.Context, results []hookd.AttemptResult) error {
	if len(results) == 0 {
		return nil
	}
	// Results for the same delivery go into separate rounds, in order, so
	// that each UPDATE sees a delivery once.
	var rounds [][]hookd.AttemptResult
	seen := make(map[int64]int)
	all := make([]int64, 0, len(results))
	for _, r := range results {
		k := seen[r.DeliveryID]
		seen[r.DeliveryID] = k + 1
		if k == 0 {
			all = append(all, r.DeliveryID)
		}
		if k == len(rounds) {
			rounds = append(rounds, nil)
		}
		rounds[k] = append(rounds[k], r)
	}
	now := s.clock.Now()
	due := false
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(lockWebhooksSQL, all)
		for _, round := range rounds {
			n := len(round)
			var (
				ids      = make([]int64, n)
				attempt  = make([]int32, n)
				at       = make([]time.Time, n)
				success  = make([]bool, n)
				status   = make([]int32, n)
				duration = make([]int64, n)
				class    = make([]string, n)
				errText  = make([]string, n)
				headers  = make([]string, n)
				body     = make([]string, n)
				next     = make([]*time.Time, n)
				disable  = make([]bool, n)
				worker   = make([]string, n)
			)
			for i, r := range round {
				ids[i], attempt[i], at[i], success[i] = r.DeliveryID, int32(r.Attempt), hookd.Stamp(r.At, now), r.Success
				status[i], duration[i], class[i], errText[i] = int32(r.HTTPStatus), int64(r.Duration), clean(r.ErrorClass), clean(r.Error)
				body[i], next[i], disable[i] = clean(r.ResponseBody), msPtr(r.NextAttemptAt), r.DisableWebhook
				worker[i] = r.Worker
				headers[i] = headersJSON(r.RequestHeaders)
				if !r.Success && r.NextAttemptAt != nil && !r.NextAttemptAt.After(now) {
					due = true
				}
			}
			b.Queue(completeSQL, ids, attempt, at, success, status, duration,
				class, errText, headers, body, next, disable, now, worker)
		}
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return wrapErr(err)
	}
	if due {
		s.wakeup()
	}
	return nil
}

// headersJSON encodes an attempt's request headers for jsonb, which takes
// no NUL character: those become U+FFFD, like invalid UTF-8.
func headersJSON(h map[string]string) string {
	for k, v := range h {
		if strings.IndexByte(k, 0) >= 0 || strings.IndexByte(v, 0) >= 0 {
			c := make(map[string]string, len(h))
			for k, v := range h {
				c[clean(k)] = clean(v)
			}
			h = c
			break
		}
	}
	return string(hookd.AppendHeadersJSON(make([]byte, 0, 256), h))
}

// defaultPerPage is the log's page size when the caller gives none.
const defaultPerPage = 50

// Log lists webhook webhookID's successful or failed attempts, newest
// first; page is 1-based. An unknown webhook is ErrNotFound, so the API can
// answer 404 rather than an empty log.
func (s *Store) Log(ctx context.Context, webhookID int64, success bool, page, perPage int) ([]*hookd.LogEntry, error) {
	if page < 1 {
		page = 1
	}
	if perPage < 1 {
		perPage = defaultPerPage
	}
	rows, _ := s.pool.Query(ctx, `
		SELECT id, delivery_id, webhook_id, event_id, event, message_id, attempt, success, http_status,
		       duration_ns, error_class, error, request_headers, response_body, created_at, next_attempt_at
		FROM attempts
		WHERE webhook_id = $1 AND success = $2
		ORDER BY created_at DESC, id DESC
		LIMIT $3 OFFSET $4`, webhookID, success, perPage, int64(page-1)*int64(perPage))
	entries, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*hookd.LogEntry, error) {
		var e hookd.LogEntry
		var dur int64
		err := row.Scan(&e.ID, &e.DeliveryID, &e.WebhookID, &e.EventID, &e.Event, &e.MessageID, &e.Attempt, &e.Success,
			&e.HTTPStatus, &dur, &e.ErrorClass, &e.Error, &e.RequestHeaders, &e.ResponseBody, &e.CreatedAt, &e.NextAttemptAt)
		e.Duration = time.Duration(dur)
		if e.RequestHeaders == nil {
			e.RequestHeaders = map[string]string{}
		}
		return &e, err
	})
	if err != nil {
		return nil, wrapErr(err)
	}
	if len(entries) == 0 {
		if err := s.checkWebhook(ctx, webhookID); err != nil {
			return nil, err
		}
	}
	return entries, nil
}

func (s *Store) checkWebhook(ctx context.Context, id int64) error {
	var ok bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM webhooks WHERE id = $1)`, id).Scan(&ok); err != nil {
		return wrapErr(err)
	}
	if !ok {
		return fmt.Errorf("webhook %d: %w", id, hookd.ErrNotFound)
	}
	return nil
}

// Requeue makes webhook webhookID's deliveries that failed for good, with
// a last attempt in [from, to), pending and due at now. Their attempt
// count is kept.
func (s *Store) Requeue(ctx context.Context, webhookID int64, from, to time.Time) (int, error) {
	now := s.clock.Now()
	var n int
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
			UPDATE deliveries SET state = 'pending', next_attempt_at = $4, finished_at = NULL,
			                      leased_by = NULL, lease_until = NULL
			WHERE webhook_id = $1 AND state = 'failed' AND last_attempt_at >= $2 AND last_attempt_at < $3`,
			webhookID, ms(from), ms(to), ms(now))
		if err != nil {
			return err
		}
		n = int(tag.RowsAffected())
		if n > 0 {
			_, err = tx.Exec(ctx, `SELECT pg_notify('`+NotifyChannel+`', '')`)
		}
		return err
	})
	if err != nil {
		return 0, wrapErr(err)
	}
	if n == 0 {
		return 0, s.checkWebhook(ctx, webhookID)
	}
	s.wakeup()
	return n, nil
}

// Prune deletes the attempts made before before, the deliveries that
// finished before it, and the events created before it that no delivery
// refers to any more. It returns how many rows went.
func (s *Store) Prune(ctx context.Context, before time.Time) (int64, error) {
	before = ms(before)
	var total int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for _, q := range []string{
			`DELETE FROM attempts WHERE created_at < $1`,
			`DELETE FROM deliveries WHERE state <> 'pending' AND finished_at < $1`,
			`DELETE FROM events e WHERE created_at < $1
			 AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id)`,
		} {
			tag, err := tx.Exec(ctx, q, before)
			if err != nil {
				return err
			}
			total += tag.RowsAffected()
		}
		return nil
	})
	if err != nil {
		return 0, wrapErr(err)
	}
	return total, nil
}

// DisableFailing disables the enabled webhooks that have been failing,
// without a success, since before or earlier, and returns their ids.
func (s *Store) DisableFailing(ctx context.Context, before time.Time) ([]int64, error) {
	rows, _ := s.pool.Query(ctx, `
		UPDATE webhooks SET disabled = true, updated_at = $2
		WHERE NOT disabled AND failing_since <= $1
		RETURNING id`, ms(before), s.clock.Now())
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, wrapErr(err)
	}
	slices.Sort(ids)
	return ids, nil
}
