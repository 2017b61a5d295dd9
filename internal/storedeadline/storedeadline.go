// Package storedeadline gives every call of a hookd.Store a deadline, so
// that a database that hangs (it neither answers nor refuses: a stalled
// network, a server stuck on its disk) makes callers fail with
// hookd.ErrUnavailable within that time, the API's 503, instead of
// waiting for ever.
package storedeadline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hookd/hookd"
)

// DefaultTimeout is how long a store call may take by default: far more
// than any call of a healthy database, short enough for a publisher to
// hear a 503 and retry in time.
const DefaultTimeout = 5 * time.Second

// MaintenanceTimeout bounds the maintenance calls (Prune, ClearPayloads,
// DisableFailing, Erase),
// which may delete or update many rows at once in the background: a
// deadline of seconds would roll back, every round, a retention that is
// merely large.
const MaintenanceTimeout = 10 * time.Minute

// Store is a hookd.Store whose calls each get a deadline.
type Store struct {
	s       hookd.Store
	timeout time.Duration
}

var (
	_ hookd.Store              = (*Store)(nil)
	_ hookd.Leader             = (*Store)(nil)
	_ hookd.DisablingCompleter = (*Store)(nil)
)

// Wrap returns s with a deadline of timeout on every call
// (MaintenanceTimeout, or timeout when longer, on the maintenance calls).
// A call that fails once its deadline has passed fails with
// hookd.ErrUnavailable.
func Wrap(s hookd.Store, timeout time.Duration) *Store {
	return &Store{s: s, timeout: timeout}
}

// errDeadline is the cause of the deadline of a call.
var errDeadline = errors.New("the database did not answer in time")

func call(ctx context.Context, timeout time.Duration, fn func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, errDeadline)
	defer cancel()
	err := fn(ctx)
	if err != nil && !errors.Is(err, hookd.ErrUnavailable) && errors.Is(context.Cause(ctx), errDeadline) {
		return fmt.Errorf("%w: %w (within %s): %w", hookd.ErrUnavailable, errDeadline, timeout, err)
	}
	return err
}

func call1[T any](ctx context.Context, timeout time.Duration, fn func(ctx context.Context) (T, error)) (T, error) {
	var v T
	err := call(ctx, timeout, func(ctx context.Context) error {
		var err error
		v, err = fn(ctx)
		return err
	})
	return v, err
}

func (d *Store) Ping(ctx context.Context) error { return call(ctx, d.timeout, d.s.Ping) }
func (d *Store) CheckWrite(ctx context.Context) error {
	return call(ctx, d.timeout, d.s.CheckWrite)
}
func (d *Store) Close() error            { return d.s.Close() }
func (d *Store) Wakeup() <-chan struct{} { return d.s.Wakeup() }

func (d *Store) FanOutWakeup() <-chan struct{} { return d.s.FanOutWakeup() }

// TryLead asks the store's own election, or grants the lead when the store
// has none (one process on its database).
func (d *Store) TryLead(ctx context.Context, name string) (func(), bool, error) {
	l, ok := d.s.(hookd.Leader)
	if !ok {
		return func() {}, true, nil
	}
	var release func()
	var lead bool
	err := call(ctx, d.timeout, func(ctx context.Context) error {
		var err error
		release, lead, err = l.TryLead(ctx, name)
		return err
	})
	return release, lead, err
}

func (d *Store) CreateAPIKey(ctx context.Context, k *hookd.APIKey) error {
	return call(ctx, d.timeout, func(ctx context.Context) error { return d.s.CreateAPIKey(ctx, k) })
}

func (d *Store) APIKeyByPrefix(ctx context.Context, prefix string) (*hookd.APIKey, error) {
	return call1(ctx, d.timeout, func(ctx context.Context) (*hookd.APIKey, error) { return d.s.APIKeyByPrefix(ctx, prefix) })
}

func (d *Store) ListAPIKeys(ctx context.Context, userID int64) ([]*hookd.APIKey, error) {
	return call1(ctx, d.timeout, func(ctx context.Context) ([]*hookd.APIKey, error) { return d.s.ListAPIKeys(ctx, userID) })
}

func (d *Store) DeleteAPIKey(ctx context.Context, userID, id int64) error {
	return call(ctx, d.timeout, func(ctx context.Context) error { return d.s.DeleteAPIKey(ctx, userID, id) })
}

func (d *Store) TouchAPIKey(ctx context.Context, id int64) error {
	return call(ctx, d.timeout, func(ctx context.Context) error { return d.s.TouchAPIKey(ctx, id) })
}

func (d *Store) CreateProject(ctx context.Context, p *hookd.Project) error {
	return call(ctx, d.timeout, func(ctx context.Context) error { return d.s.CreateProject(ctx, p) })
}

func (d *Store) Project(ctx context.Context, id string) (*hookd.Project, error) {
	return call1(ctx, d.timeout, func(ctx context.Context) (*hookd.Project, error) { return d.s.Project(ctx, id) })
}

func (d *Store) ListProjects(ctx context.Context, f hookd.ProjectFilter) ([]*hookd.Project, error) {
	return call1(ctx, d.timeout, func(ctx context.Context) ([]*hookd.Project, error) { return d.s.ListProjects(ctx, f) })
}

func (d *Store) DeleteProject(ctx context.Context, id string) error {
	return call(ctx, d.timeout, func(ctx context.Context) error { return d.s.DeleteProject(ctx, id) })
}

func (d *Store) CreateWebhook(ctx context.Context, w *hookd.Webhook, signingSecret string) error {
	return call(ctx, d.timeout, func(ctx context.Context) error { return d.s.CreateWebhook(ctx, w, signingSecret) })
}

func (d *Store) Webhook(ctx context.Context, id int64) (*hookd.Webhook, error) {
	return call1(ctx, d.timeout, func(ctx context.Context) (*hookd.Webhook, error) { return d.s.Webhook(ctx, id) })
}

func (d *Store) ListWebhooks(ctx context.Context, f hookd.WebhookFilter) ([]*hookd.Webhook, error) {
	return call1(ctx, d.timeout, func(ctx context.Context) ([]*hookd.Webhook, error) { return d.s.ListWebhooks(ctx, f) })
}

func (d *Store) UpdateWebhook(ctx context.Context, id int64, u hookd.WebhookUpdate) (*hookd.Webhook, error) {
	return call1(ctx, d.timeout, func(ctx context.Context) (*hookd.Webhook, error) { return d.s.UpdateWebhook(ctx, id, u) })
}

func (d *Store) DeleteWebhook(ctx context.Context, id int64) error {
	return call(ctx, d.timeout, func(ctx context.Context) error { return d.s.DeleteWebhook(ctx, id) })
}

func (d *Store) AddHeader(ctx context.Context, h *hookd.Header) error {
	return call(ctx, d.timeout, func(ctx context.Context) error { return d.s.AddHeader(ctx, h) })
}

func (d *Store) UpdateHeader(ctx context.Context, webhookID, headerID int64, u hookd.HeaderUpdate) (*hookd.Header, error) {
	return call1(ctx, d.timeout, func(ctx context.Context) (*hookd.Header, error) {
		return d.s.UpdateHeader(ctx, webhookID, headerID, u)
	})
}

func (d *Store) DeleteHeader(ctx context.Context, webhookID, headerID int64) error {
	return call(ctx, d.timeout, func(ctx context.Context) error { return d.s.DeleteHeader(ctx, webhookID, headerID) })
}

func (d *Store) AddUser(ctx context.Context, u *hookd.WebhookUser) error {
	return call(ctx, d.timeout, func(ctx context.Context) error { return d.s.AddUser(ctx, u) })
}

func (d *Store) DeleteUser(ctx context.Context, webhookID, webhookUserID int64) error {
	return call(ctx, d.timeout, func(ctx context.Context) error { return d.s.DeleteUser(ctx, webhookID, webhookUserID) })
}

func (d *Store) Settings(ctx context.Context, webhookID int64) (hookd.WebhookSettings, error) {
	return call1(ctx, d.timeout, func(ctx context.Context) (hookd.WebhookSettings, error) { return d.s.Settings(ctx, webhookID) })
}

func (d *Store) UpdateSettings(ctx context.Context, webhookID int64, u hookd.SettingsUpdate) error {
	return call(ctx, d.timeout, func(ctx context.Context) error { return d.s.UpdateSettings(ctx, webhookID, u) })
}

func (d *Store) Secrets(ctx context.Context, webhookID int64) ([]string, error) {
	return call1(ctx, d.timeout, func(ctx context.Context) ([]string, error) { return d.s.Secrets(ctx, webhookID) })
}

func (d *Store) RotateSecret(ctx context.Context, webhookID int64, secret string, previousValidUntil time.Time) error {
	return call(ctx, d.timeout, func(ctx context.Context) error {
		return d.s.RotateSecret(ctx, webhookID, secret, previousValidUntil)
	})
}

func (d *Store) PublishEvents(ctx context.Context, events []*hookd.Event) ([]hookd.Published, error) {
	return call1(ctx, d.timeout, func(ctx context.Context) ([]hookd.Published, error) { return d.s.PublishEvents(ctx, events) })
}

func (d *Store) PublishAndClaim(ctx context.Context, events []*hookd.Event, h hookd.Handoff) ([]hookd.Published, error) {
	return call1(ctx, d.timeout, func(ctx context.Context) ([]hookd.Published, error) {
		return d.s.PublishAndClaim(ctx, events, h)
	})
}

func (d *Store) PublishTo(ctx context.Context, webhookID int64, e *hookd.Event) error {
	return call(ctx, d.timeout, func(ctx context.Context) error { return d.s.PublishTo(ctx, webhookID, e) })
}

func (d *Store) FanOut(ctx context.Context) (bool, error) {
	return call1(ctx, d.timeout, d.s.FanOut)
}

func (d *Store) Claim(ctx context.Context, req hookd.ClaimRequest) (hookd.Claimed, error) {
	return call1(ctx, d.timeout, func(ctx context.Context) (hookd.Claimed, error) { return d.s.Claim(ctx, req) })
}

func (d *Store) Targets(ctx context.Context, webhookIDs []int64) (map[int64]*hookd.Target, error) {
	return call1(ctx, d.timeout, func(ctx context.Context) (map[int64]*hookd.Target, error) {
		return d.s.Targets(ctx, webhookIDs)
	})
}

func (d *Store) Complete(ctx context.Context, results []hookd.AttemptResult) error {
	return call(ctx, d.timeout, func(ctx context.Context) error { return d.s.Complete(ctx, results) })
}

// CompleteDisabling is the wrapped store's (hookd.CompleteDisabling).
func (d *Store) CompleteDisabling(ctx context.Context, results []hookd.AttemptResult) ([]int64, error) {
	return call1(ctx, d.timeout, func(ctx context.Context) ([]int64, error) {
		return hookd.CompleteDisabling(ctx, d.s, results)
	})
}

func (d *Store) Log(ctx context.Context, webhookID int64, success bool, page, perPage int) ([]*hookd.LogEntry, error) {
	return call1(ctx, d.timeout, func(ctx context.Context) ([]*hookd.LogEntry, error) {
		return d.s.Log(ctx, webhookID, success, page, perPage)
	})
}

func (d *Store) Requeue(ctx context.Context, webhookID int64, from, to time.Time) (int, error) {
	return call1(ctx, d.timeout, func(ctx context.Context) (int, error) { return d.s.Requeue(ctx, webhookID, from, to) })
}

func (d *Store) RequeueFailed(ctx context.Context, from, to time.Time) (int, error) {
	return call1(ctx, d.maintenance(), func(ctx context.Context) (int, error) { return d.s.RequeueFailed(ctx, from, to) })
}

func (d *Store) CreateReplay(ctx context.Context, r *hookd.Replay) error {
	return call(ctx, d.timeout, func(ctx context.Context) error { return d.s.CreateReplay(ctx, r) })
}

func (d *Store) Replay(ctx context.Context, webhookID, id int64) (*hookd.Replay, error) {
	return call1(ctx, d.timeout, func(ctx context.Context) (*hookd.Replay, error) { return d.s.Replay(ctx, webhookID, id) })
}

func (d *Store) ListReplays(ctx context.Context, webhookID int64, limit int) ([]*hookd.Replay, error) {
	return call1(ctx, d.timeout, func(ctx context.Context) ([]*hookd.Replay, error) {
		return d.s.ListReplays(ctx, webhookID, limit)
	})
}

func (d *Store) CancelReplay(ctx context.Context, webhookID, id int64) (*hookd.Replay, error) {
	return call1(ctx, d.timeout, func(ctx context.Context) (*hookd.Replay, error) { return d.s.CancelReplay(ctx, webhookID, id) })
}

func (d *Store) RunningReplays(ctx context.Context) ([]int64, error) {
	return call1(ctx, d.timeout, d.s.RunningReplays)
}

func (d *Store) ReplayChunk(ctx context.Context, id int64) (*hookd.Replay, bool, error) {
	var (
		r        *hookd.Replay
		advanced bool
	)
	err := call(ctx, d.timeout, func(ctx context.Context) (err error) {
		r, advanced, err = d.s.ReplayChunk(ctx, id)
		return err
	})
	return r, advanced, err
}

func (d *Store) Prune(ctx context.Context, before time.Time) (int64, error) {
	return call1(ctx, d.maintenance(), func(ctx context.Context) (int64, error) { return d.s.Prune(ctx, before) })
}

func (d *Store) ClearPayloads(ctx context.Context, before time.Time) (int64, error) {
	return call1(ctx, d.maintenance(), func(ctx context.Context) (int64, error) { return d.s.ClearPayloads(ctx, before) })
}

// Erase may rewrite every event of a project: it has the maintenance's time.
func (d *Store) Erase(ctx context.Context, e hookd.Erasure) (hookd.Erased, error) {
	return call1(ctx, d.maintenance(), func(ctx context.Context) (hookd.Erased, error) { return d.s.Erase(ctx, e) })
}

func (d *Store) DisableFailing(ctx context.Context, before time.Time) ([]int64, error) {
	return call1(ctx, d.maintenance(), func(ctx context.Context) ([]int64, error) { return d.s.DisableFailing(ctx, before) })
}

func (d *Store) maintenance() time.Duration { return max(d.timeout, MaintenanceTimeout) }

func (d *Store) QueueStats(ctx context.Context) (hookd.QueueStats, error) {
	return call1(ctx, d.timeout, d.s.QueueStats)
}

func (d *Store) Circuit(ctx context.Context, webhookID int64) (hookd.Circuit, error) {
	return call1(ctx, d.timeout, func(ctx context.Context) (hookd.Circuit, error) { return d.s.Circuit(ctx, webhookID) })
}
