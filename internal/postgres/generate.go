package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd"
)

// fillSQL writes a hookd.HistoryFill in one statement: the events, a
// finished delivery of each, and its attempts.
const fillSQL = `
WITH ev AS (
	INSERT INTO events (id, event, data, created_at, deliveries, trace_parent, publisher_key_id)
	SELECT $1 || i, 'ASSET_ADDED',
	       json_build_object('asset', json_build_object('id', i, 'title', 'Generated asset ' || i, 'pad', $7::text)),
	       $2::timestamptz + (i - $3) * $4::interval, 1, '', 0
	FROM generate_series($3::bigint, $3 + $5 - 1) i
	RETURNING id, created_at, substr(id, length($1) + 1)::bigint AS i
), dl AS (
	INSERT INTO deliveries (webhook_id, event_id, message_id, state, attempts, next_attempt_at, created_at, last_attempt_at)
	SELECT ($6::bigint[])[1 + i % cardinality($6::bigint[])], id, 'msg_' || id, 'succeeded', n, created_at, created_at,
	       created_at + n * interval '1 second'
	FROM (SELECT *, CASE WHEN i % $8 = 0 THEN 1 + $10 ELSE 1 END AS n FROM ev) e
	RETURNING id, webhook_id, event_id, message_id, attempts, created_at
)
INSERT INTO attempts (delivery_id, webhook_id, event_id, event, message_id, attempt, success, http_status, duration_ns,
                      error_class, error, request_headers, response_body, created_at, next_attempt_at)
SELECT d.id, d.webhook_id, d.event_id, 'ASSET_ADDED', d.message_id, a, a = d.attempts,
       CASE WHEN a = d.attempts THEN 200 ELSE 503 END, 42000000,
       CASE WHEN a = d.attempts THEN '' ELSE $9 END, CASE WHEN a = d.attempts THEN '' ELSE 'HTTP 503' END,
       jsonb_build_object('webhook-id', d.message_id, 'webhook-timestamp', extract(epoch FROM d.created_at)::bigint::text,
                          'webhook-signature', 'v1,' || md5(d.message_id) || md5(d.event_id)),
       CASE WHEN a = d.attempts THEN '{"ok":true}' ELSE 'Service Unavailable' END,
       d.created_at + a * interval '1 second',
       CASE WHEN a < d.attempts THEN d.created_at + (a + 1) * interval '1 second' END
FROM dl d CROSS JOIN LATERAL generate_series(1, d.attempts) a`

// FillHistory writes h (hookd generate), with the day partitions it needs.
// Concurrent fills make the partitions one at a time: hookd_day_partition
// checks, then creates.
func (s *Store) FillHistory(ctx context.Context, h hookd.HistoryFill) error {
	last := h.At(h.First + h.N)
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('hookd.generate.partitions', 0))`); err != nil {
			return err
		}
		for day := h.From.UTC().Truncate(24 * time.Hour); !day.After(last.Add(24 * time.Hour)); day = day.AddDate(0, 0, 1) {
			for _, p := range dayPartitioned {
				if _, err := tx.Exec(ctx, `SELECT hookd_day_partition($1::regclass, $2::date)`, p.parent, day); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return wrapErr(err)
	}
	_, err = s.pool.Exec(ctx, fillSQL, h.Tag, ms(h.From), h.First, h.Step, h.N, h.Webhooks, h.Pad, h.RetryEvery, hookd.ClassStatus, h.Failures)
	return wrapErr(err)
}

// HistorySize counts the attempts and deliveries stored and the bytes the
// schema's tables take, indexes and TOAST included (hookd generate).
func (s *Store) HistorySize(ctx context.Context) (attempts, deliveries, bytes int64, err error) {
	err = s.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM attempts), (SELECT count(*) FROM deliveries),
		(SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c
		 WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r')`).Scan(&attempts, &deliveries, &bytes)
	return attempts, deliveries, bytes, wrapErr(err)
}

// SettleHistory vacuums and analyses the history's tables (hookd generate).
func (s *Store) SettleHistory(ctx context.Context) error {
	_, err := s.pool.Exec(ctx, `VACUUM (ANALYZE) attempts, deliveries, events`)
	return wrapErr(err)
}
