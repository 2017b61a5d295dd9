package metrics

import (
	"context"
	"errors"
	"time"

	"github.com/hookd/hookd"
)

// InstrumentStore returns s with every call timed in
// hookd_db_operation_duration_seconds and its failures counted in
// hookd_db_errors_total, under the operation's name in snake case.
//
// A method added to hookd.Store later passes through untimed until it is
// added here.
func (m *Metrics) InstrumentStore(s hookd.Store) hookd.Store {
	return &store{Store: s, m: m}
}

type store struct {
	hookd.Store
	m *Metrics
}

// observe records the duration of the operation that started at start and
// whether it failed. Answers that are part of the contract (not found,
// conflict, unknown project) and a caller that gave up are not failures.
func (s *store) observe(op string, start time.Time, err error) {
	s.m.dbDuration.WithLabelValues(op).Observe(time.Since(start).Seconds())
	if err != nil && !errors.Is(err, hookd.ErrNotFound) && !errors.Is(err, hookd.ErrConflict) &&
		!errors.Is(err, hookd.ErrProjectNotFound) && !errors.Is(err, context.Canceled) {
		s.m.dbErrors.WithLabelValues(op).Inc()
	}
}

func (s *store) Ping(ctx context.Context) (err error) {
	defer func(t time.Time) { s.observe("ping", t, err) }(time.Now())
	return s.Store.Ping(ctx)
}

func (s *store) CreateAPIKey(ctx context.Context, k *hookd.APIKey) (err error) {
	defer func(t time.Time) { s.observe("create_api_key", t, err) }(time.Now())
	return s.Store.CreateAPIKey(ctx, k)
}

func (s *store) APIKeyByPrefix(ctx context.Context, prefix string) (k *hookd.APIKey, err error) {
	defer func(t time.Time) { s.observe("api_key_by_prefix", t, err) }(time.Now())
	return s.Store.APIKeyByPrefix(ctx, prefix)
}

func (s *store) ListAPIKeys(ctx context.Context, userID int64) (ks []*hookd.APIKey, err error) {
	defer func(t time.Time) { s.observe("list_api_keys", t, err) }(time.Now())
	return s.Store.ListAPIKeys(ctx, userID)
}

func (s *store) DeleteAPIKey(ctx context.Context, userID, id int64) (err error) {
	defer func(t time.Time) { s.observe("delete_api_key", t, err) }(time.Now())
	return s.Store.DeleteAPIKey(ctx, userID, id)
}

func (s *store) TouchAPIKey(ctx context.Context, id int64) (err error) {
	defer func(t time.Time) { s.observe("touch_api_key", t, err) }(time.Now())
	return s.Store.TouchAPIKey(ctx, id)
}

func (s *store) CreateProject(ctx context.Context, p *hookd.Project) (err error) {
	defer func(t time.Time) { s.observe("create_project", t, err) }(time.Now())
	return s.Store.CreateProject(ctx, p)
}

func (s *store) Project(ctx context.Context, id string) (p *hookd.Project, err error) {
	defer func(t time.Time) { s.observe("project", t, err) }(time.Now())
	return s.Store.Project(ctx, id)
}

func (s *store) ListProjects(ctx context.Context) (ps []*hookd.Project, err error) {
	defer func(t time.Time) { s.observe("list_projects", t, err) }(time.Now())
	return s.Store.ListProjects(ctx)
}

func (s *store) DeleteProject(ctx context.Context, id string) (err error) {
	defer func(t time.Time) { s.observe("delete_project", t, err) }(time.Now())
	return s.Store.DeleteProject(ctx, id)
}

func (s *store) CreateWebhook(ctx context.Context, w *hookd.Webhook, signingSecret string) (err error) {
	defer func(t time.Time) { s.observe("create_webhook", t, err) }(time.Now())
	return s.Store.CreateWebhook(ctx, w, signingSecret)
}

func (s *store) Webhook(ctx context.Context, id int64) (w *hookd.Webhook, err error) {
	defer func(t time.Time) { s.observe("webhook", t, err) }(time.Now())
	return s.Store.Webhook(ctx, id)
}

func (s *store) ListWebhooks(ctx context.Context, f hookd.WebhookFilter) (ws []*hookd.Webhook, err error) {
	defer func(t time.Time) { s.observe("list_webhooks", t, err) }(time.Now())
	return s.Store.ListWebhooks(ctx, f)
}

func (s *store) UpdateWebhook(ctx context.Context, id int64, u hookd.WebhookUpdate) (w *hookd.Webhook, err error) {
	defer func(t time.Time) { s.observe("update_webhook", t, err) }(time.Now())
	return s.Store.UpdateWebhook(ctx, id, u)
}

func (s *store) DeleteWebhook(ctx context.Context, id int64) (err error) {
	defer func(t time.Time) { s.observe("delete_webhook", t, err) }(time.Now())
	return s.Store.DeleteWebhook(ctx, id)
}

func (s *store) AddHeader(ctx context.Context, h *hookd.Header) (err error) {
	defer func(t time.Time) { s.observe("add_header", t, err) }(time.Now())
	return s.Store.AddHeader(ctx, h)
}

func (s *store) UpdateHeader(ctx context.Context, webhookID, headerID int64, u hookd.HeaderUpdate) (h *hookd.Header, err error) {
	defer func(t time.Time) { s.observe("update_header", t, err) }(time.Now())
	return s.Store.UpdateHeader(ctx, webhookID, headerID, u)
}

func (s *store) DeleteHeader(ctx context.Context, webhookID, headerID int64) (err error) {
	defer func(t time.Time) { s.observe("delete_header", t, err) }(time.Now())
	return s.Store.DeleteHeader(ctx, webhookID, headerID)
}

func (s *store) AddUser(ctx context.Context, u *hookd.WebhookUser) (err error) {
	defer func(t time.Time) { s.observe("add_user", t, err) }(time.Now())
	return s.Store.AddUser(ctx, u)
}

func (s *store) DeleteUser(ctx context.Context, webhookID, webhookUserID int64) (err error) {
	defer func(t time.Time) { s.observe("delete_user", t, err) }(time.Now())
	return s.Store.DeleteUser(ctx, webhookID, webhookUserID)
}

func (s *store) Secrets(ctx context.Context, webhookID int64) (secrets []string, err error) {
	defer func(t time.Time) { s.observe("secrets", t, err) }(time.Now())
	return s.Store.Secrets(ctx, webhookID)
}

func (s *store) RotateSecret(ctx context.Context, webhookID int64, secret string, previousValidUntil time.Time) (err error) {
	defer func(t time.Time) { s.observe("rotate_secret", t, err) }(time.Now())
	return s.Store.RotateSecret(ctx, webhookID, secret, previousValidUntil)
}

func (s *store) PublishEvents(ctx context.Context, events []*hookd.Event) (ps []hookd.Published, err error) {
	defer func(t time.Time) { s.observe("publish_events", t, err) }(time.Now())
	return s.Store.PublishEvents(ctx, events)
}

func (s *store) PublishTo(ctx context.Context, webhookID int64, e *hookd.Event) (err error) {
	defer func(t time.Time) { s.observe("publish_to", t, err) }(time.Now())
	return s.Store.PublishTo(ctx, webhookID, e)
}

func (s *store) Claim(ctx context.Context, worker string, limit int, lease time.Duration) (ds []*hookd.Delivery, err error) {
	defer func(t time.Time) { s.observe("claim", t, err) }(time.Now())
	return s.Store.Claim(ctx, worker, limit, lease)
}

func (s *store) Targets(ctx context.Context, webhookIDs []int64) (ts map[int64]*hookd.Target, err error) {
	defer func(t time.Time) { s.observe("targets", t, err) }(time.Now())
	return s.Store.Targets(ctx, webhookIDs)
}

func (s *store) Complete(ctx context.Context, results []hookd.AttemptResult) (err error) {
	defer func(t time.Time) { s.observe("complete", t, err) }(time.Now())
	return s.Store.Complete(ctx, results)
}

func (s *store) Log(ctx context.Context, webhookID int64, success bool, page, perPage int) (es []*hookd.LogEntry, err error) {
	defer func(t time.Time) { s.observe("log", t, err) }(time.Now())
	return s.Store.Log(ctx, webhookID, success, page, perPage)
}

func (s *store) Requeue(ctx context.Context, webhookID int64, from, to time.Time) (n int, err error) {
	defer func(t time.Time) { s.observe("requeue", t, err) }(time.Now())
	return s.Store.Requeue(ctx, webhookID, from, to)
}

func (s *store) Prune(ctx context.Context, before time.Time) (n int64, err error) {
	defer func(t time.Time) { s.observe("prune", t, err) }(time.Now())
	return s.Store.Prune(ctx, before)
}

func (s *store) DisableFailing(ctx context.Context, before time.Time) (ids []int64, err error) {
	defer func(t time.Time) { s.observe("disable_failing", t, err) }(time.Now())
	return s.Store.DisableFailing(ctx, before)
}
