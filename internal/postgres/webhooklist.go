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

// foldASCII lowercases the ASCII letters of a text expression and only
// them, as SQLite's lower() and LIKE do: PostgreSQL's lower() and ILIKE
// also fold other letters ("É" to "é") wherever the database's ctype is not
// C, so that the stores would disagree on what a search finds and on how
// names sort. No index covers names or URLs (a search is a substring one,
// which no B-tree index serves), so folding costs no index.
func foldASCII(expr string) string {
	return "translate(" + expr + ", 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"
}

// webhookWhere is f's WHERE clause over webhooks w. Search ignores the case
// of ASCII letters, and only theirs, as SQLite's LIKE does (foldASCII).
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
		pattern := foldASCII(arg(hookd.SearchPattern(f.Search)) + "::text")
		conds = append(conds, `(`+foldASCII("w.name")+` LIKE `+pattern+` ESCAPE '\' OR `+
			foldASCII("w.http_url")+` LIKE `+pattern+` ESCAPE '\' OR w.id = `+arg(hookd.SearchID(f.Search))+`)`)
	}
	return "WHERE " + strings.Join(conds, " AND "), args
}

// webhookOrder is the ORDER BY clause of a sort over webhooks w. Names
// compare with their ASCII letters lowercased (foldASCII), in byte order
// (COLLATE "C"), as SQLite's lower() and BINARY collation compare them,
// whatever the database's collation and ctype.
func webhookOrder(sort hookd.WebhookSort) string {
	dir := " ASC"
	if sort.Desc {
		dir = " DESC"
	}
	switch sort.Key {
	case hookd.SortByName:
		return "ORDER BY " + foldASCII("w.name") + ` COLLATE "C"` + dir + ", w.id" + dir
	case hookd.SortByCreated:
		return "ORDER BY w.created_at" + dir + ", w.id" + dir
	case hookd.SortByLastRun:
		return "ORDER BY w.last_run_at IS NULL, w.last_run_at" + dir + ", w.id" + dir
	default:
		return "ORDER BY w.id" + dir
	}
}
