package sqlite

import (
	"context"
	"database/sql"
	"strings"

	"github.com/hookd/hookd"
)

// ListWebhooks returns the webhooks that pass f, in its order. A page is
// chosen on the webhooks alone, so that only its rows count their queues.
func (s *Store) ListWebhooks(ctx context.Context, f hookd.WebhookFilter) ([]*hookd.Webhook, error) {
	where, args := webhookWhere(f)
	order := webhookOrder(f.Sort)
	tail := where + " " + order
	if f.Limit > 0 {
		tail = "WHERE w.id IN (SELECT w.id FROM webhooks w " + where + " " + order + " LIMIT ? OFFSET ?) " + order
		args = append(args, f.Limit, f.Offset)
	}
	var hooks []*hookd.Webhook
	err := s.inReadTx(ctx, func(tx *sql.Tx) (err error) {
		hooks, err = readWebhooks(ctx, tx, s.clock.Now(), tail, args...)
		return err
	})
	return hooks, err
}

// CountWebhooks counts the webhooks that pass f.
func (s *Store) CountWebhooks(ctx context.Context, f hookd.WebhookFilter) (int, error) {
	where, args := webhookWhere(f)
	var n int
	err := s.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM webhooks w "+where, args...).Scan(&n)
	return n, mapErr(err)
}

// webhookWhere is f's WHERE clause over webhooks w. LIKE ignores the case
// of ASCII letters, and only theirs ("é" does not find "É"): the contract,
// which PostgreSQL's store keeps with translate() rather than ILIKE.
func webhookWhere(f hookd.WebhookFilter) (string, []any) {
	var args []any
	// Customers' webhooks only: not the notification subscriptions' own
	// (hookd.Notification).
	conds := []string{"NOT EXISTS (SELECT 1 FROM notifications n WHERE n.webhook_id = w.id)"}
	if f.ProjectID != nil {
		conds = append(conds, "w.project_id = ?")
		args = append(args, *f.ProjectID)
	}
	if f.NoProject {
		conds = append(conds, "w.project_id IS NULL")
	}
	if f.Disabled != nil {
		conds = append(conds, "w.disabled = ?")
		args = append(args, *f.Disabled)
	}
	switch f.Health {
	case hookd.HealthFailing:
		conds = append(conds, "NOT w.disabled AND w.failing_since IS NOT NULL")
	case hookd.HealthCircuitOpen:
		conds = append(conds, "w.circuit_state <> 'closed'")
	}
	if f.Search != "" {
		pattern := hookd.SearchPattern(f.Search)
		conds = append(conds, `(w.name LIKE ? ESCAPE '\' OR w.http_url LIKE ? ESCAPE '\' OR w.id = ?)`)
		args = append(args, pattern, pattern, hookd.SearchID(f.Search))
	}
	return "WHERE " + strings.Join(conds, " AND "), args
}

// webhookOrder is the ORDER BY clause of a sort over webhooks w. Names
// compare with their ASCII letters lowercased (SQLite's lower() folds no
// other), in byte order (BINARY): "a" < "Zz" < "Éb" < "éa".
func webhookOrder(sort hookd.WebhookSort) string {
	dir := " ASC"
	if sort.Desc {
		dir = " DESC"
	}
	switch sort.Key {
	case hookd.SortByName:
		return "ORDER BY lower(w.name)" + dir + ", w.id" + dir
	case hookd.SortByCreated:
		return "ORDER BY w.created_at" + dir + ", w.id" + dir
	case hookd.SortByLastRun:
		return "ORDER BY w.last_run_at IS NULL, w.last_run_at" + dir + ", w.id" + dir
	default:
		return "ORDER BY w.id" + dir
	}
}
