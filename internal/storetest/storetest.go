// Package storetest is the contract of hookd.Store, written as tests: every
// storage implementation (sqlite, postgres) runs the same suite, so the API
// and the delivery workers can rely on one behaviour.
//
// The suite speaks only through hookd.Store. Where the Store interface's
// comments leave a choice open, the test that settles it says so in a
// comment ("Contract: ..."); an implementation that disagrees should change
// the suite in the open, not skip the test.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/clocktest"
)

// Open returns a fresh, empty, migrated store that reads the current time
// from clock, and registers its Close with t.Cleanup. Close must be safe to
// call twice: the suite closes some stores itself.
type Open = func(t *testing.T, clock hookd.Clock) hookd.Store

// Run runs the contract suite. Each test opens its store on a clock of its
// own, which it moves instead of waiting.
func Run(t *testing.T, openStore Open) {
	open := func(t *testing.T) *testStore {
		clock := clocktest.New(start)
		return &testStore{Store: openStore(t, clock), clock: clock, ctx: t.Context()}
	}
	t.Run("APIKeys", func(t *testing.T) { testAPIKeys(t, open) })
	t.Run("Projects", func(t *testing.T) { testProjects(t, open) })
	t.Run("Webhooks", func(t *testing.T) { testWebhooks(t, open) })
	t.Run("Headers", func(t *testing.T) { testHeaders(t, open) })
	t.Run("Users", func(t *testing.T) { testUsers(t, open) })
	t.Run("Secrets", func(t *testing.T) { testSecrets(t, open) })
	t.Run("Settings", func(t *testing.T) { testSettings(t, open) })
	t.Run("PublishEvents", func(t *testing.T) { testPublishEvents(t, open) })
	t.Run("PublishTo", func(t *testing.T) { testPublishTo(t, open) })
	t.Run("PublishToBehindFanOut", func(t *testing.T) { testPublishToBehindFanOut(t, open) })
	t.Run("PublishAndClaim", func(t *testing.T) { testPublishAndClaim(t, open) })
	t.Run("Claim", func(t *testing.T) { testClaim(t, open) })
	t.Run("FairClaims", func(t *testing.T) { testFairClaims(t, open) })
	t.Run("Ordering", func(t *testing.T) { testOrdering(t, open) })
	t.Run("Targets", func(t *testing.T) { testTargets(t, open) })
	t.Run("TargetsVersion", func(t *testing.T) { testTargetsVersion(t, open) })
	t.Run("Complete", func(t *testing.T) { testComplete(t, open) })
	t.Run("Log", func(t *testing.T) { testLog(t, open) })
	t.Run("Requeue", func(t *testing.T) { testRequeue(t, open) })
	t.Run("RequeueFailed", func(t *testing.T) { testRequeueFailed(t, open) })
	t.Run("Filters", func(t *testing.T) { testFilters(t, open) })
	t.Run("Replays", func(t *testing.T) { testReplays(t, open) })
	t.Run("ReplayHistory", func(t *testing.T) { testReplayHistory(t, open) })
	t.Run("CancelReplayLeases", func(t *testing.T) { testCancelReplayLeases(t, open) })
	t.Run("Prune", func(t *testing.T) { testPrune(t, open) })
	t.Run("DisableFailing", func(t *testing.T) { testDisableFailing(t, open) })
	t.Run("Circuit", func(t *testing.T) { testCircuit(t, open) })
	t.Run("ProbeCircuit", func(t *testing.T) { testProbeCircuit(t, open) })
	t.Run("QueueStats", func(t *testing.T) { testQueueStats(t, open) })
	t.Run("ThrottledStats", func(t *testing.T) { testThrottledStats(t, open) })
	t.Run("ExpiredLease", func(t *testing.T) { testExpiredLease(t, open) })
	t.Run("ParkingLeases", func(t *testing.T) { testParkingLeases(t, open) })
	t.Run("ParkingDue", func(t *testing.T) { testParkingDue(t, open) })
	t.Run("WebhookList", func(t *testing.T) { testWebhookList(t, open) })
	t.Run("DeliveryLog", func(t *testing.T) { testDeliveryLog(t, open) })
	t.Run("AttemptCounts", func(t *testing.T) { testAttemptCounts(t, open) })
	t.Run("Rules", func(t *testing.T) { testRules(t, open) })
	t.Run("Wakeup", func(t *testing.T) { testWakeup(t, open) })
	t.Run("Close", func(t *testing.T) { testClose(t, open) })
	t.Run("Notifications", func(t *testing.T) { testNotifications(t, open) })
}

type opener = func(t *testing.T) *testStore

// start is where each test's clock starts.
var start = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

// testStore is a store under test with the clock it reads.
type testStore struct {
	hookd.Store
	clock *clocktest.Clock
	ctx   context.Context
}

// Deliveries returns a claim's deliveries, for tests that look at nothing
// else of it: Deliveries(s.Claim(ctx, req)).
func Deliveries(c hookd.Claimed, err error) ([]*hookd.Delivery, error) { return c.Deliveries, err }

// claimAt claims, as worker, up to limit deliveries due at now.
func (s *testStore) claimAt(now time.Time, worker string, limit int) ([]*hookd.Delivery, error) {
	s.clock.Set(now)
	return Deliveries(s.Claim(s.ctx, hookd.ClaimRequest{Worker: worker, Limit: limit, Lease: lease, Workers: Workers}))
}

// targetsAt reads targets at now.
func (s *testStore) targetsAt(now time.Time, webhookIDs []int64) (map[int64]*hookd.Target, error) {
	s.clock.Set(now)
	return s.Targets(s.ctx, webhookIDs)
}

// secretsAt reads a webhook's signing secrets at now.
func (s *testStore) secretsAt(now time.Time, webhookID int64) ([]string, error) {
	s.clock.Set(now)
	return s.Secrets(s.ctx, webhookID)
}

// requeueAt requeues at now.
func (s *testStore) requeueAt(now time.Time, webhookID int64, from, to time.Time) (int, error) {
	s.clock.Set(now)
	return s.Requeue(s.ctx, webhookID, from, to)
}

// touchAt records a key's use at now.
func (s *testStore) touchAt(now time.Time, id int64) error {
	s.clock.Set(now)
	return s.TouchAPIKey(s.ctx, id)
}

// Event names used by the suite.
const (
	assetAdded   = "ASSET_ADDED"
	assetRemoved = "ASSET_REMOVED"
	userAdded    = "USER_ADDED"
)

// missingID is an id no test creates.
const missingID int64 = 987654321

// Workers is the concurrency that the suite's claims, and the stores' own
// tests, claim for: its default share (2500) is above every queue of these
// tests, so that only the fair-claims tests meet a webhook's share.
const Workers = 10000

// lease is the lease of the suite's claims: long enough that nothing
// expires during a test unless a test moves its clock.
const lease = time.Minute

func ctx(t *testing.T) context.Context { return t.Context() }

func ptr[T any](v T) *T { return &v }

func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func mustErr(t *testing.T, err, want error, what string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: error %v, want %v", what, err, want)
	}
}

func equal[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func deepEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}

func equalPtr[T comparable](t *testing.T, what string, got, want *T) {
	t.Helper()
	switch {
	case got == nil && want == nil:
	case got == nil || want == nil:
		t.Errorf("%s = %s, want %s", what, show(got), show(want))
	case *got != *want:
		t.Errorf("%s = %v, want %v", what, *got, *want)
	}
}

func show[T any](p *T) string {
	if p == nil {
		return "nil"
	}
	return fmt.Sprint(*p)
}

// at is t as a store keeps it: UTC, milliseconds.
func at(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

// sameTime checks that got is want at stored precision, in UTC.
func sameTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(at(want)) || got.Location() != time.UTC {
		t.Errorf("%s = %v, want %v (UTC, ms)", what, got, at(want))
	}
}

func sameTimePtr(t *testing.T, what string, got, want *time.Time) {
	t.Helper()
	switch {
	case got == nil && want == nil:
	case got == nil || want == nil:
		t.Errorf("%s = %v, want %v", what, got, want)
	default:
		sameTime(t, what, *got, *want)
	}
}

// within checks that got was stamped by the store between lo and hi, at
// stored precision.
func within(t *testing.T, what string, got, lo, hi time.Time) {
	t.Helper()
	if got.Before(at(lo)) || got.After(hi) || got.Location() != time.UTC || !got.Equal(at(got)) {
		t.Errorf("%s = %v, want a UTC millisecond time in [%v, %v]", what, got, at(lo), hi)
	}
}

// sameJSON compares JSON by value: an implementation may store data as
// jsonb and give back other spacing or key order.
func sameJSON(t *testing.T, what string, got, want json.RawMessage) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Errorf("%s: %s is not JSON: %v", what, got, err)
		return
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("%s: the test's JSON %s: %v", what, want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s = %s, want %s", what, got, want)
	}
}

func newWebhook(name string, events ...string) *hookd.Webhook {
	return &hookd.Webhook{
		Name:          name,
		HTTPURL:       "https://receiver.example/" + name,
		HTTPMethod:    "POST",
		TriggerEvents: events,
	}
}

func createWebhook(t *testing.T, s hookd.Store, w *hookd.Webhook) *hookd.Webhook {
	t.Helper()
	must(t, s.CreateWebhook(ctx(t), w, ""), "CreateWebhook "+w.Name)
	return w
}

func createProject(t *testing.T, s hookd.Store, id string) *hookd.Project {
	t.Helper()
	p := &hookd.Project{ID: id, Title: "Project " + id}
	must(t, s.CreateProject(ctx(t), p), "CreateProject "+id)
	return p
}

func getWebhook(t *testing.T, s hookd.Store, id int64) *hookd.Webhook {
	t.Helper()
	w, err := s.Webhook(ctx(t), id)
	must(t, err, fmt.Sprintf("Webhook(%d)", id))
	return w
}

func newEvent(name string, project *string, user *int64) *hookd.Event {
	return &hookd.Event{
		Event:     name,
		ProjectID: project,
		UserID:    user,
		Data:      json.RawMessage(`{"asset": {"id": 12, "tags": ["a", "b"], "note": null}, "n": 1.5}`),
	}
}

func publish(t *testing.T, s hookd.Store, events ...*hookd.Event) []hookd.Published {
	t.Helper()
	res, err := s.PublishEvents(ctx(t), events)
	must(t, err, "PublishEvents")
	if len(res) != len(events) {
		t.Fatalf("PublishEvents returned %d results for %d events", len(res), len(events))
	}
	return res
}

// claimAll claims every delivery due at now.
func claimAll(t *testing.T, s *testStore, now time.Time) []*hookd.Delivery {
	t.Helper()
	ds, err := s.claimAt(now, "suite", 10000)
	must(t, err, "Claim")
	return ds
}

// claimOne claims every delivery due at now and expects exactly one.
func claimOne(t *testing.T, s *testStore, now time.Time) *hookd.Delivery {
	t.Helper()
	ds := claimAll(t, s, now)
	if len(ds) != 1 {
		t.Fatalf("Claim at %v: %d deliveries, want 1", now, len(ds))
	}
	return ds[0]
}

// result is the outcome of the next attempt of d, claimed by claimAll (as
// worker "suite").
func result(d *hookd.Delivery, when time.Time, success bool, status int) hookd.AttemptResult {
	r := hookd.AttemptResult{
		DeliveryID:     d.ID,
		WebhookID:      d.WebhookID,
		Worker:         "suite",
		Attempt:        d.Attempts + 1,
		At:             when,
		Success:        success,
		HTTPStatus:     status,
		Duration:       150 * time.Millisecond,
		RequestHeaders: map[string]string{"webhook-id": d.MessageID},
		ResponseBody:   fmt.Sprintf("status %d", status),
	}
	if !success {
		r.ErrorClass, r.Error = hookd.ClassStatus, fmt.Sprintf("HTTP %d", status)
	}
	return r
}

// retry is a failed attempt of d that schedules another at next.
func retry(d *hookd.Delivery, when, next time.Time) hookd.AttemptResult {
	r := result(d, when, false, 503)
	r.NextAttemptAt = &next
	return r
}

func complete(t *testing.T, s hookd.Store, results ...hookd.AttemptResult) {
	t.Helper()
	must(t, s.Complete(ctx(t), results), "Complete")
}

func ids[T any](items []T, id func(T) int64) []int64 {
	out := make([]int64, len(items))
	for i, it := range items {
		out[i] = id(it)
	}
	return out
}

func webhookIDs(hooks []*hookd.Webhook) []int64 {
	return ids(hooks, func(w *hookd.Webhook) int64 { return w.ID })
}

func deliveryIDs(ds []*hookd.Delivery) []int64 {
	return sorted(ids(ds, func(d *hookd.Delivery) int64 { return d.ID }))
}

// sorted is a sorted copy of s; nil and empty compare equal as [].
func sorted(s []int64) []int64 {
	s = append([]int64{}, s...)
	slices.Sort(s)
	return s
}

// checkWebhook compares what an admin configured; the live figures are
// checked where they matter.
func checkWebhook(t *testing.T, got, want *hookd.Webhook) {
	t.Helper()
	p := fmt.Sprintf("webhook %d", want.ID)
	equal(t, p+" ID", got.ID, want.ID)
	equal(t, p+" Name", got.Name, want.Name)
	equal(t, p+" HTTPURL", got.HTTPURL, want.HTTPURL)
	equal(t, p+" HTTPMethod", got.HTTPMethod, want.HTTPMethod)
	if !slices.Equal(got.TriggerEvents, want.TriggerEvents) || got.TriggerEvents == nil {
		t.Errorf("%s TriggerEvents = %#v, want %#v", p, got.TriggerEvents, want.TriggerEvents)
	}
	equalPtr(t, p+" ProjectID", got.ProjectID, want.ProjectID)
	equal(t, p+" Disabled", got.Disabled, want.Disabled)
	sameTime(t, p+" CreatedAt", got.CreatedAt, want.CreatedAt)
	sameTime(t, p+" UpdatedAt", got.UpdatedAt, want.UpdatedAt)
	checkHeaders(t, p, got.Headers, want.Headers)
	checkUsers(t, p, got.Users, want.Users)
}

// checkHeaders compares header lists. Contract: lists are never nil (the
// API answers [] rather than null) and keep the order headers were added.
func checkHeaders(t *testing.T, what string, got, want []hookd.Header) {
	t.Helper()
	if got == nil {
		t.Errorf("%s headers are nil, want a list", what)
	}
	if len(got) != len(want) {
		t.Errorf("%s: %d headers, want %d: %+v", what, len(got), len(want), got)
		return
	}
	for i := range want {
		g, w := got[i], want[i]
		p := fmt.Sprintf("%s header %d", what, w.ID)
		equal(t, p+" ID", g.ID, w.ID)
		equal(t, p+" WebhookID", g.WebhookID, w.WebhookID)
		equal(t, p+" Key", g.Key, w.Key)
		equal(t, p+" Value", g.Value, w.Value)
		equal(t, p+" Hidden", g.Hidden, w.Hidden)
		equal(t, p+" IsHMAC", g.IsHMAC, w.IsHMAC)
		sameTime(t, p+" CreatedAt", g.CreatedAt, w.CreatedAt)
		sameTime(t, p+" UpdatedAt", g.UpdatedAt, w.UpdatedAt)
	}
}

func checkUsers(t *testing.T, what string, got, want []hookd.WebhookUser) {
	t.Helper()
	if got == nil {
		t.Errorf("%s users are nil, want a list", what)
	}
	if len(got) != len(want) {
		t.Errorf("%s: %d users, want %d: %+v", what, len(got), len(want), got)
		return
	}
	for i := range want {
		g, w := got[i], want[i]
		p := fmt.Sprintf("%s user %d", what, w.ID)
		equal(t, p+" ID", g.ID, w.ID)
		equal(t, p+" WebhookID", g.WebhookID, w.WebhookID)
		equal(t, p+" UserID", g.UserID, w.UserID)
		sameTime(t, p+" CreatedAt", g.CreatedAt, w.CreatedAt)
		sameTime(t, p+" UpdatedAt", g.UpdatedAt, w.UpdatedAt)
	}
}

// checkEvent compares a stored event with the one published.
func checkEvent(t *testing.T, what string, got, want hookd.Event) {
	t.Helper()
	equal(t, what+" ID", got.ID, want.ID)
	equal(t, what+" Event", got.Event, want.Event)
	equalPtr(t, what+" ProjectID", got.ProjectID, want.ProjectID)
	equalPtr(t, what+" UserID", got.UserID, want.UserID)
	sameJSON(t, what+" Data", got.Data, want.Data)
	sameTime(t, what+" CreatedAt", got.CreatedAt, want.CreatedAt)
}

// figures checks a webhook's live queue figures.
func figures(t *testing.T, s hookd.Store, id int64, queue, retry int) *hookd.Webhook {
	t.Helper()
	w := getWebhook(t, s, id)
	if w.QueueLength != queue || w.RetryQueueLength != retry {
		t.Errorf("webhook %d: queue_length %d, retry_queue_length %d; want %d, %d",
			id, w.QueueLength, w.RetryQueueLength, queue, retry)
	}
	return w
}

func drainWakeup(s hookd.Store) {
	select {
	case <-s.Wakeup():
	default:
	}
}

// awaitWakeup waits for a wakeup. The timeout only bounds a failing test:
// a store that signals passes at once.
func awaitWakeup(t *testing.T, s hookd.Store, what string) {
	t.Helper()
	select {
	case <-s.Wakeup():
	case <-time.After(10 * time.Second):
		t.Fatalf("no wakeup after %s", what)
	}
}
