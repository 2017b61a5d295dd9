package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hookd/hookd"
)

// attemptColumns are the columns of an attempt that scanLogEntries reads.
const attemptColumns = `id, delivery_id, webhook_id, event_id, event, message_id, attempt,
	success, http_status, duration_ns, error_class, error, request_headers, response_body, next_attempt_at, created_at`

// Log lists a webhook's successful or failed attempts, newest first; page
// is 1-based. An unknown webhook is ErrNotFound, so the API can answer 404
// rather than an empty log.
func (s *Store) Log(ctx context.Context, webhookID int64, success bool, page, perPage int) ([]*hookd.LogEntry, error) {
	limit, offset := hookd.Page(page, perPage)
	var out []*hookd.LogEntry
	err := s.inReadTx(ctx, func(tx *sql.Tx) error {
		if err := webhookExists(ctx, tx, webhookID); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+attemptColumns+`
			FROM attempts WHERE webhook_id = ? AND success = ?
			ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`, webhookID, success, limit, offset)
		if err != nil {
			return err
		}
		out, err = scanLogEntries(rows)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// scanLogEntries reads and closes rows of attemptColumns.
func scanLogEntries(rows *sql.Rows) ([]*hookd.LogEntry, error) {
	defer rows.Close()
	out := []*hookd.LogEntry{}
	for rows.Next() {
		var (
			e        hookd.LogEntry
			duration int64
			headers  string
			next     sql.NullInt64
			created  int64
		)
		if err := rows.Scan(&e.ID, &e.DeliveryID, &e.WebhookID, &e.EventID, &e.Event, &e.MessageID, &e.Attempt,
			&e.Success, &e.HTTPStatus, &duration, &e.ErrorClass, &e.Error, &headers, &e.ResponseBody,
			&next, &created); err != nil {
			return nil, err
		}
		e.Duration = time.Duration(duration)
		if err := json.Unmarshal([]byte(headers), &e.RequestHeaders); err != nil {
			return nil, fmt.Errorf("attempt %d: request_headers: %w", e.ID, err)
		}
		if e.RequestHeaders == nil {
			e.RequestHeaders = map[string]string{}
		}
		e.NextAttemptAt = timePtr(next)
		e.CreatedAt = fromMS(created)
		out = append(out, &e)
	}
	return out, rows.Err()
}
