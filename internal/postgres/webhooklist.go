package postgres

import (
	"context"
	"strconv"
	"strings"

	"github.com/hookd/hookd"
)

// ListWebhooks lists the webhooks that pass f, in its order; only the page
// counts its queues (loadWebhooks).
func (s *Store) ListWebhooks(ctx context.Context, f hookd.WebhookFilter) ([]*hookd.Webhook, error) {
	where, args := webhookWhere(f)
	tail := where + " " + webhookOrder(f.Sort)
	if f.Limit > 0 {
		args = append(args, f.Limit, f.Offset)
		tail += " LIMIT $" + strconv.Itoa(len(args)-1) + " OFFSET $" + strconv.Itoa(len(args))
	}
	return loadWebhooks(ctx, s.pool, s.clock.Now(), tail, args...)
}

// CountWebhooks counts the webhooks that pass f.
func (s *Store) CountWebhooks(ctx context.Context, f hookd.WebhookFilter) (int, error) {
	where, args := webhookWhere(f)
	var n int
	err := s.pool.QueryRow(ctx, "SELECT count(*) FROM webhooks w "+where, args...).Scan(&n)
	return n, wrapErr(err)
}

// webhookWhere is f's WHERE clause over webhooks w. Search ignores case as
// ILIKE does (ASCII letters at least, as the contract asks).
func webhookWhere(f hookd.WebhookFilter) (string, []any) {
	var args []any
	// Customers' webhooks only: not the notification subscriptions' own
	// (hookd.Notification).
	conds := []string{"NOT EXISTS (SELECT 1 FROM notifications n WHERE n.webhook_id = w.id)"}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.ProjectID != nil {
		conds = append(conds, "w.project_id = "+arg(*f.ProjectID))
	}
	if f.NoProject {
		conds = append(conds, "w.project_id IS NULL")
	}
	if f.Disabled != nil {
		conds = append(conds, "w.disabled = "+arg(*f.Disabled))
	}
	switch f.Health {
	case hookd.HealthFailing:
		conds = append(conds, "NOT w.disabled AND w.failing_since IS NOT NULL")
	case hookd.HealthCircuitOpen:
		conds = append(conds, "w.circuit_state <> 'closed'")
	}
	if f.Search != "" {
		pattern := arg(hookd.SearchPattern(f.Search))
		conds = append(conds, `(w.name ILIKE `+pattern+` ESCAPE '\' OR w.http_url ILIKE `+pattern+` ESCAPE '\' OR w.id = `+
			arg(hookd.SearchID(f.Search))+`)`)
	}
	return "WHERE " + strings.Join(conds, " AND "), args
}

// webhookOrder is the ORDER BY clause of a sort over webhooks w. Names
// compare lowercased in byte order, as SQLite's do, whatever the
// database's collation.
func webhookOrder(sort hookd.WebhookSort) string {
	dir := " ASC"
	if sort.Desc {
		dir = " DESC"
	}
	switch sort.Key {
	case hookd.SortByName:
		return `ORDER BY lower(w.name) COLLATE "C"` + dir + ", w.id" + dir
	case hookd.SortByCreated:
		return "ORDER BY w.created_at" + dir + ", w.id" + dir
	case hookd.SortByLastRun:
		return "ORDER BY w.last_run_at IS NULL, w.last_run_at" + dir + ", w.id" + dir
	default:
		return "ORDER BY w.id" + dir
	}
}
