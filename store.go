package hookd

import (
	"context"
	"time"
)

// Store is the storage contract. sqlite.Store and postgres.Store implement
// it, and storetest runs the same suite against both.
//
// Lookups of a missing record return ErrNotFound; creating or updating a
// webhook scoped to an unregistered project returns ErrProjectNotFound.
// Times are stored with millisecond precision. A store reads the current
// time only from the Clock it was opened with: no method takes "now".
type Store interface {
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// CheckWrite checks that the database takes a write now, as accepting
	// an event needs: it commits a tiny one (a row of its own), cheaply
	// enough for /readyz to call it at every poll. A read-only database, a
	// full disk or a standby fail it with ErrUnavailable.
	CheckWrite(ctx context.Context) error
	Close() error

	// API keys.
	CreateAPIKey(ctx context.Context, k *APIKey) error // ErrConflict when the prefix is taken
	APIKeyByPrefix(ctx context.Context, prefix string) (*APIKey, error)
	ListAPIKeys(ctx context.Context, userID int64) ([]*APIKey, error)
	DeleteAPIKey(ctx context.Context, userID, id int64) error
	// TouchAPIKey records that the key is being used now.
	TouchAPIKey(ctx context.Context, id int64) error

	// The project registry.
	CreateProject(ctx context.Context, p *Project) error // ErrConflict when the id exists
	Project(ctx context.Context, id string) (*Project, error)
	// ListProjects lists a page of the registry (ProjectFilter); an After
	// that is not in the registry is ErrNotFound.
	ListProjects(ctx context.Context, f ProjectFilter) ([]*Project, error)
	DeleteProject(ctx context.Context, id string) error

	// Webhooks, read with their headers, users and live queue figures.
	// ListWebhooks and CountWebhooks see the customers' webhooks only, never
	// the webhook that delivers a notification subscription (Notification).
	CreateWebhook(ctx context.Context, w *Webhook, signingSecret string) error
	Webhook(ctx context.Context, id int64) (*Webhook, error)
	ListWebhooks(ctx context.Context, f WebhookFilter) ([]*Webhook, error)
	// CountWebhooks counts the webhooks that pass f, whatever its Limit
	// and Offset.
	CountWebhooks(ctx context.Context, f WebhookFilter) (int, error)
	UpdateWebhook(ctx context.Context, id int64, u WebhookUpdate) (*Webhook, error)
	DeleteWebhook(ctx context.Context, id int64) error // drops its queued deliveries too
	AddHeader(ctx context.Context, h *Header) error
	UpdateHeader(ctx context.Context, webhookID, headerID int64, u HeaderUpdate) (*Header, error)
	DeleteHeader(ctx context.Context, webhookID, headerID int64) error
	AddUser(ctx context.Context, u *WebhookUser) error
	DeleteUser(ctx context.Context, webhookID, webhookUserID int64) error

	// Settings reads hookd's own settings of a webhook (zero fields are the
	// defaults); UpdateSettings changes those u gives, in one statement, so
	// that a concurrent update of others is kept. Both answer ErrNotFound
	// for an unknown webhook; callers validate first
	// (WebhookSettings.Validate).
	Settings(ctx context.Context, webhookID int64) (WebhookSettings, error)
	UpdateSettings(ctx context.Context, webhookID int64, u SettingsUpdate) error

	// Signing secrets: Secrets returns the current one first, then the
	// rotated one while it is still valid (SigningSecrets.ValidAt).
	Secrets(ctx context.Context, webhookID int64) ([]string, error)
	RotateSecret(ctx context.Context, webhookID int64, secret string, previousValidUntil time.Time) error

	// PublishEvents stores events and, in the same transaction, a delivery
	// for every webhook that matches each one (Webhook.Matches), but those
	// beyond FanOutChunk, which FanOut creates after (PlanFanOut); an event
	// whose ID is already stored, or earlier in events, is answered with the
	// original or refuses the whole batch, as Republish rules. It keeps
	// the project registry current with PROJECT_ADDED and PROJECT_PURGED.
	PublishEvents(ctx context.Context, events []*Event) ([]Published, error)
	// PublishAndClaim is PublishEvents that may also lease, in the same
	// transaction, new deliveries to h's idle workers: it offers h those it
	// queues due now outside ordered lanes (Handoff.Offer), leases to the
	// offer's worker what PlanHandoff gives its request (of
	// HandoffCandidates), writing what the grants
	// change of their webhooks as Claim does (the time they were served,
	// throttles, a circuit's probe), and hands them to h.Take with their
	// events, as Claim returns them, once its transaction has ended (none
	// when it failed). A store may offer nothing: PostgreSQL does not (see
	// its PublishAndClaim).
	PublishAndClaim(ctx context.Context, events []*Event, h Handoff) ([]Published, error)
	// FanOut creates the deliveries that PublishEvents and PublishTo left
	// to it (at most FanOutChunk a transaction: PlanFanOut), oldest event
	// first, to the webhooks that match each event when its chunk is
	// created (a PublishTo's to its webhook), and reports whether any
	// remain. Processes that share a database take turns. The dispatcher
	// calls it (delivery.Dispatcher.Run).
	FanOut(ctx context.Context) (remaining bool, err error)
	// FanOutWakeup delivers a value when a publish of this process has
	// left deliveries to FanOut (another process's are found by polling).
	FanOutWakeup() <-chan struct{}
	// PublishTo stores e and one delivery of it to webhookID, whatever the
	// webhook's subscriptions and state (the test action). To a disabled
	// webhook the delivery waits, as its others do, until it is enabled.
	// To an ordered webhook that fan-outs waiting may still reach, FanOut
	// creates the delivery after theirs (PlanFanOut), so that it does not
	// overtake events published before it in the webhook's lanes.
	PublishTo(ctx context.Context, webhookID int64, e *Event) error

	// Claim leases up to req.Limit due deliveries to req.Worker for
	// req.Lease, fairly across webhooks (PlanClaim): round robin, least
	// recently served first; no webhook beyond its share of attempts at
	// once (WebhookSettings.Share of req.Workers, counted over every process
	// on the database), its throttle, or what its circuit allows. A
	// delivery whose lease has expired (its worker died) is due again, and
	// frees its share; the next Claim leases it to its own worker.
	// req.Worker names the lease: Complete settles a delivery only with a
	// result from the worker that holds its lease (AttemptResult.Worker), so
	// callers should claim under a name of their own for each claim (the
	// dispatcher adds a sequence number to its WorkerID). Deliveries of a
	// disabled webhook are not claimed: they wait, and are due again once
	// it is enabled. When a webhook with due deliveries is held back by its
	// throttle or circuit, Wakeup delivers a value once it may be served;
	// one held back by its share or its window (req.Windows) is told in
	// Claimed.HeldShare, as only the end of one of its attempts lets it go,
	// and one held back by its window in Claimed.HeldBack.
	Claim(ctx context.Context, req ClaimRequest) (Claimed, error)
	// Targets returns what the sender needs for each webhook id, with the
	// secrets that sign now.
	Targets(ctx context.Context, webhookIDs []int64) (map[int64]*Target, error)
	// Complete records attempts: a log entry each, and the delivery is
	// rescheduled, finished or failed for good. A result for a delivery no
	// longer leased is dropped, without a log entry: its webhook was
	// deleted, it is finished, or (when AttemptResult.Worker is set) its
	// lease is no longer that worker's, because the lease expired and
	// another claim took the delivery over. The worker that holds the lease
	// now records the attempt that counts; the stale attempt's request
	// reached the receiver all the same, with the same webhook-id, which is
	// what at-least-once allows. A result with an empty Worker settles the
	// delivery whoever holds its lease (tools and tests). The webhooks a
	// Complete disabled (a 410) are told by DisablingCompleter.
	Complete(ctx context.Context, results []AttemptResult) error
	// Wakeup delivers a value when deliveries may have become due or
	// claimable (new events, requeues, a throttle or circuit that a claim
	// held back letting go), in this process or, for new events and
	// requeues on PostgreSQL, in any.
	Wakeup() <-chan struct{}

	// Log lists a webhook's attempts, newest first; page is 1-based.
	Log(ctx context.Context, webhookID int64, success bool, page, perPage int) ([]*LogEntry, error)
	// DeliveryLog lists a webhook's deliveries in one of states that were
	// attempted at least once, latest attempt first, each with its log;
	// page is 1-based. An unknown webhook is ErrNotFound.
	DeliveryLog(ctx context.Context, webhookID int64, states []DeliveryState, page, perPage int) ([]*DeliveryRecord, error)
	// Delivery reads one delivery of a webhook with its log, and its event
	// (with the payload); ErrNotFound when the webhook has no such
	// delivery (any more).
	Delivery(ctx context.Context, webhookID, deliveryID int64) (*DeliveryRecord, *Event, error)
	// AttemptCounts counts the attempts that ended in each of ranges, in
	// their order: of one webhook, or of every webhook when webhookID is 0.
	// Each range is an index range of the attempts, so the work is the
	// attempts counted; an unknown webhook is ErrNotFound.
	AttemptCounts(ctx context.Context, webhookID int64, ranges []TimeRange) ([]AttemptCount, error)
	// Requeue makes the webhook's deliveries that failed for good, with a
	// last attempt in [from, to), due again now, and returns how many. It
	// leaves out those of erased events, and of events whose data payload
	// retention cleared (as a replay skips them: Replay.SkippedPayloadExpired):
	// they would go out with {} as their data. A cleared event is told by
	// its data, {}, and its age, older than where payload retention ended:
	// one published with {} is taken for one.
	Requeue(ctx context.Context, webhookID int64, from, to time.Time) (int, error)

	// RequeueFailed is Requeue for every webhook at once: an operator's
	// "retry every failed delivery since T" after an incident.
	RequeueFailed(ctx context.Context, from, to time.Time) (int, error)

	// Replays (replay.go). CreateReplay stores r, a replay from NewReplay,
	// with Total counted, and sets its ID: ErrNotFound for an unknown
	// webhook, ErrConflict while another replay of the webhook runs (two
	// would send the same events twice).
	CreateReplay(ctx context.Context, r *Replay) error
	// Replay reads a replay of the webhook with its deliveries' figures;
	// ErrNotFound when the webhook has no such replay.
	Replay(ctx context.Context, webhookID, id int64) (*Replay, error)
	// ListReplays lists the webhook's replays, newest first, up to limit.
	ListReplays(ctx context.Context, webhookID int64, limit int) ([]*Replay, error)
	// CancelReplay cancels a replay (Replay.Cancel) and drops its deliveries
	// that no attempt has started yet, and returns it.
	CancelReplay(ctx context.Context, webhookID, id int64) (*Replay, error)
	// RunningReplays returns the ids of the running replays, oldest first.
	RunningReplays(ctx context.Context) ([]int64, error)
	// ReplayChunk works the next chunk of a running replay, in one
	// transaction, unless it waits (ReplayWaits): it reads up to
	// ReplayChunkSize events after where the replay stands, in order,
	// queues a delivery of those that Replay.Resend re-sends (subscriptions
	// and filter as they are now), and advances it (Replay.Advance). It
	// returns the replay, with its Pending deliveries counted (not its
	// Succeeded and Failed ones, which Replay reads), and whether it
	// advanced; a replay that is not running is returned as it is.
	ReplayChunk(ctx context.Context, id int64) (*Replay, bool, error)

	// Prune deletes attempts, finished deliveries and events older than
	// before, except events with deliveries or still waiting for their
	// fan-out, and returns how many rows went. It never holds the database
	// long: SQLite deletes in transactions of hookd.PruneChunk rows;
	// PostgreSQL drops whole days of its history (so it may keep rows up to
	// a day past before; the count of a dropped day is PostgreSQL's
	// estimate) and makes the days ahead (hookd.DayPartitions of the
	// store's clock).
	Prune(ctx context.Context, before time.Time) (int64, error)
	// ClearPayloads clears the payloads (event data, logged response
	// bodies) older than before, metadata kept, except events a pending
	// delivery or their fan-out still needs, and returns how many rows it
	// cleared. Each call
	// starts where the previous one ended, in transactions of PruneChunk rows.
	ClearPayloads(ctx context.Context, before time.Time) (int64, error)
	// Erase erases the data of the events e names (see Erasure, which
	// callers validate first): an unknown event is ErrNotFound; a project or
	// user without events erases nothing. A project's or a user's events
	// may be erased in several transactions (SQLite's, so that its single
	// writer is never held for long): every event they had when Erase began
	// is erased when it returns; one published meanwhile may be, or not
	// (erase again). An Erase that fails may have erased part of them, and
	// the totals it returns with the error count that part: erasing again
	// is safe, erased events have nothing left to cancel or clear.
	Erase(ctx context.Context, e Erasure) (Erased, error)
	// DisableFailing disables webhooks whose deliveries have failed without
	// a success since before, and returns their ids.
	DisableFailing(ctx context.Context, before time.Time) ([]int64, error)

	// QueueStats reads the queue figures of the whole database (every
	// webhook's) in one cheap query, without the webhooks themselves.
	QueueStats(ctx context.Context) (QueueStats, error)

	// Circuit reads a webhook's circuit breaker. Complete records each
	// attempt in it (Circuit.RecordAll) with the CircuitPolicy the store
	// was opened with (an option of each store's Open, default
	// DefaultCircuitPolicy), and tells the circuits it opened or closed to
	// the CircuitObserver it was opened with, if any.
	Circuit(ctx context.Context, webhookID int64) (Circuit, error)

	// Operational notifications' subscriptions (Notification).
	// CreateNotification stores n and the webhook that delivers it
	// (NotificationWebhook of n.URL, signed with signingSecret, or a new
	// secret when empty) in one transaction. The webhook holds the URL and
	// the state: change them with UpdateWebhook of n.WebhookID, and delete
	// the subscription with DeleteWebhook of it. Notification and
	// ListNotifications read the subscriptions with their webhook's URL and
	// state; SetNotificationKinds replaces the kinds of subscription id.
	CreateNotification(ctx context.Context, n *Notification, signingSecret string) error
	Notification(ctx context.Context, id int64) (*Notification, error)
	ListNotifications(ctx context.Context) ([]*Notification, error)
	SetNotificationKinds(ctx context.Context, id int64, kinds []string) (*Notification, error)

	// ProbeCircuit makes an open circuit's probe due now (Circuit.ProbeNow)
	// and wakes the claims (Wakeup, in every process on PostgreSQL); it
	// returns the circuit as it leaves it.
	ProbeCircuit(ctx context.Context, webhookID int64) (Circuit, error)
}

// DisablingCompleter is implemented by stores whose Complete can tell the
// webhooks it disabled (sqlite.Store, postgres.Store, storedeadline.Store):
// the dispatcher tells its observer of them (delivery.DisabledGone).
type DisablingCompleter interface {
	// CompleteDisabling is Store.Complete, and returns, once committed,
	// the webhooks it disabled: those a recorded result's DisableWebhook (a
	// 410) turned from enabled to disabled. A dropped result disables
	// nothing, and a webhook that was disabled already is not returned, so
	// that of concurrent Completes for one webhook one at most returns it.
	CompleteDisabling(ctx context.Context, results []AttemptResult) (disabled []int64, err error)
}

// CompleteDisabling is s's Complete, with the webhooks it disabled when s
// tells them (a DisablingCompleter); none when it does not.
func CompleteDisabling(ctx context.Context, s Store, results []AttemptResult) ([]int64, error) {
	if c, ok := s.(DisablingCompleter); ok {
		return c.CompleteDisabling(ctx, results)
	}
	return nil, s.Complete(ctx, results)
}

// Leader is implemented by stores that several hookd processes can share
// (postgres.Store): it elects one process at a time to do periodic work
// such as maintenance. A store that only one process uses (sqlite.Store)
// implements it by always granting the lead.
type Leader interface {
	// TryLead tries to become the leader called name among the processes
	// that share the database. When ok, the caller leads until it calls
	// release (or loses its connection to the database: lead for one round
	// of work, then release and ask again). When another process leads, ok
	// is false and err nil.
	TryLead(ctx context.Context, name string) (release func(), ok bool, err error)
}
