package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"

	"github.com/hookd/hookd"
)

// fillSQL writes a hookd.HistoryFill: the events, a finished delivery of
// each, and its attempts (the deliveries after ?10, the largest id before; ?11 failures).
var fillSQL = []string{`
WITH RECURSIVE seq(i) AS (SELECT ?3 UNION ALL SELECT i + 1 FROM seq WHERE i < ?3 + ?5 - 1)
INSERT INTO events (id, event, data, created_at, deliveries, trace_parent, publisher_key_id)
SELECT ?1 || i, 'ASSET_ADDED', json_object('asset', json_object('id', i, 'title', 'Generated asset ' || i, 'pad', ?7)),
       ?2 + (i - ?3) * ?4, 1, '', 0
FROM seq`, `
WITH RECURSIVE seq(i) AS (SELECT ?3 UNION ALL SELECT i + 1 FROM seq WHERE i < ?3 + ?5 - 1)
INSERT INTO deliveries (webhook_id, event_id, message_id, state, attempts, next_attempt_at, created_at, last_attempt_at)
SELECT json_extract(?6, '$[' || (i % json_array_length(?6)) || ']'), ?1 || i, 'msg_' || ?1 || i, 'succeeded', n,
       at, at, at + n * 1000
FROM (SELECT i, ?2 + (i - ?3) * ?4 AS at, CASE WHEN i % ?8 = 0 THEN 1 + ?11 ELSE 1 END AS n FROM seq)`, `
WITH RECURSIVE a(a) AS (SELECT 1 UNION ALL SELECT a + 1 FROM a WHERE a <= ?11)
INSERT INTO attempts (delivery_id, webhook_id, event_id, event, message_id, attempt, success, http_status, duration_ns,
                      error_class, error, request_headers, response_body, created_at, next_attempt_at)
SELECT d.id, d.webhook_id, d.event_id, 'ASSET_ADDED', d.message_id, a.a, a.a = d.attempts,
       CASE WHEN a.a = d.attempts THEN 200 ELSE 503 END, 42000000,
       CASE WHEN a.a = d.attempts THEN '' ELSE ?9 END, CASE WHEN a.a = d.attempts THEN '' ELSE 'HTTP 503' END,
       json_object('webhook-id', d.message_id, 'webhook-timestamp', CAST(d.created_at / 1000 AS TEXT),
                   'webhook-signature', 'v1,' || hex(randomblob(32))),
       CASE WHEN a.a = d.attempts THEN '{"ok":true}' ELSE 'Service Unavailable' END,
       d.created_at + a.a * 1000,
       CASE WHEN a.a < d.attempts THEN d.created_at + (a.a + 1) * 1000 END
FROM deliveries d JOIN a ON a.a <= d.attempts
WHERE d.id > ?10`}

// FillHistory writes h (hookd generate) in one transaction.
func (s *Store) FillHistory(ctx context.Context, h hookd.HistoryFill) error {
	hooks, err := json.Marshal(h.Webhooks)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var before int64
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM deliveries`).Scan(&before); err != nil {
			return err
		}
		for _, q := range fillSQL {
			if _, err := tx.ExecContext(ctx, q, h.Tag, ms(h.From), h.First, h.Step.Milliseconds(), h.N, string(hooks),
				h.Pad, h.RetryEvery, hookd.ClassStatus, before, h.Failures); err != nil {
				return err
			}
		}
		return nil
	})
}

// HistorySize counts the attempts and deliveries stored and the bytes of
// the database file (hookd generate).
func (s *Store) HistorySize(ctx context.Context) (attempts, deliveries, bytes int64, err error) {
	err = s.r.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM attempts), (SELECT count(*) FROM deliveries),
		(SELECT page_count FROM pragma_page_count()) * (SELECT page_size FROM pragma_page_size())`).Scan(&attempts, &deliveries, &bytes)
	return attempts, deliveries, bytes, mapErr(err)
}
