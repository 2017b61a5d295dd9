package storetest

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

func testClaim(t *testing.T, open opener) {
	t.Run("LeaseAndExpiry", func(t *testing.T) {
		s := open(t)
		createProject(t, s, "P")
		w := createWebhook(t, s, newWebhook("w", assetAdded))
		var events []*hookd.Event
		for i := range 5 {
			e := newEvent(assetAdded, ptr("P"), ptr(int64(i)))
			e.Data = json.RawMessage(fmt.Sprintf(`{"i": %d, "nested": {"x": [1, 2]}}`, i))
			events = append(events, e)
		}
		res := publish(t, s, events...)
		published := map[string]hookd.Event{}
		for _, r := range res {
			published[r.Event.ID] = r.Event
		}
		now := s.clock.Now()

		a, err := s.claimAt(now, "worker-a", 2)
		must(t, err, "Claim a")
		equal(t, "claimed with limit 2", len(a), 2)
		b, err := s.claimAt(now, "worker-b", 10)
		must(t, err, "Claim b")
		equal(t, "claimed by b", len(b), 3)
		c, err := s.claimAt(now, "worker-c", 10)
		must(t, err, "Claim c")
		equal(t, "claimed while all are leased", len(c), 0)

		leased := append(slices.Clone(a), b...)
		if got := deliveryIDs(leased); len(slices.Compact(got)) != 5 {
			t.Fatalf("a and b were handed the same delivery: %v", got)
		}
		messages := map[int64]string{}
		for _, d := range leased {
			p := fmt.Sprintf("delivery %d", d.ID)
			equal(t, p+" WebhookID", d.WebhookID, w.ID)
			equal(t, p+" Attempts", d.Attempts, 0)
			if !strings.HasPrefix(d.MessageID, "msg_") {
				t.Errorf("%s MessageID = %q, want a msg_ id", p, d.MessageID)
			}
			if d.CreatedAt.IsZero() || d.CreatedAt.After(now) {
				t.Errorf("%s CreatedAt = %v, want the publish time", p, d.CreatedAt)
			}
			e, ok := published[d.Event.ID]
			if !ok {
				t.Fatalf("%s carries event %q, which was not published", p, d.Event.ID)
			}
			checkEvent(t, p+" event", d.Event, e)
			messages[d.ID] = d.MessageID
		}
		if len(slices.Compact(slices.Sorted(maps.Values(messages)))) != 5 {
			t.Errorf("message ids are not unique: %v", messages)
		}

		// Just before the leases end nothing is due; then all of it is, to
		// another worker, with the same message ids (receivers dedupe on
		// them).
		none, err := s.claimAt(now.Add(lease-time.Millisecond), "worker-c", 10)
		must(t, err, "Claim before expiry")
		equal(t, "claimed before the leases end", len(none), 0)
		again, err := s.claimAt(now.Add(lease), "worker-c", 10)
		must(t, err, "Claim after expiry")
		deepEqual(t, "reclaimed after the leases end", deliveryIDs(again), deliveryIDs(leased))
		for _, d := range again {
			equal(t, fmt.Sprintf("delivery %d MessageID after a reclaim", d.ID), d.MessageID, messages[d.ID])
			equal(t, fmt.Sprintf("delivery %d Attempts after a lost lease", d.ID), d.Attempts, 0)
		}

		zero, err := s.claimAt(now.Add(time.Hour), "worker-c", 0)
		must(t, err, "Claim with limit 0")
		equal(t, "claimed with limit 0", len(zero), 0)
	})

	t.Run("NextAttemptAt", func(t *testing.T) {
		s := open(t)
		w := createWebhook(t, s, newWebhook("w", assetAdded))
		publish(t, s, newEvent(assetAdded, nil, nil))
		now := s.clock.Now()
		d := claimOne(t, s, now)
		next := now.Add(time.Hour)
		complete(t, s, retry(d, now, next))

		equal(t, "due before NextAttemptAt", len(claimAll(t, s, now)), 0)
		equal(t, "due 1ms before NextAttemptAt", len(claimAll(t, s, next.Add(-time.Millisecond))), 0)
		d2 := claimOne(t, s, next)
		equal(t, "ID", d2.ID, d.ID)
		equal(t, "Attempts after one failure", d2.Attempts, 1)
		equal(t, "MessageID across retries", d2.MessageID, d.MessageID)
		equal(t, "WebhookID", d2.WebhookID, w.ID)
		checkEvent(t, "event of the retry", d2.Event, d.Event)
	})

	// A disabled webhook's deliveries are not claimed, neither new ones nor
	// retries: they wait, and go out once it is enabled again.
	t.Run("DisabledWebhookWaits", func(t *testing.T) {
		s := open(t)
		w := createWebhook(t, s, newWebhook("w", assetAdded))
		other := createWebhook(t, s, newWebhook("other", assetAdded))
		publish(t, s, newEvent(assetAdded, nil, nil), newEvent(assetAdded, nil, nil))
		now := s.clock.Now()
		for _, d := range claimAll(t, s, now) {
			complete(t, s, retry(d, now, now))
		}
		_, err := s.UpdateWebhook(ctx(t), w.ID, hookd.WebhookUpdate{Disabled: ptr(true)})
		must(t, err, "UpdateWebhook disable")
		later := now.Add(time.Second)
		for _, d := range claimAll(t, s, later) {
			equal(t, "claimed webhook while w is disabled", d.WebhookID, other.ID)
		}
		_, err = s.UpdateWebhook(ctx(t), w.ID, hookd.WebhookUpdate{Disabled: ptr(false)})
		must(t, err, "UpdateWebhook enable")
		ds := claimAll(t, s, later)
		equal(t, "claimed after re-enabling", len(ds), 2)
		for _, d := range ds {
			equal(t, "claimed webhook after re-enabling", d.WebhookID, w.ID)
			equal(t, "attempts of a delivery that waited", d.Attempts, 1)
		}
	})

	t.Run("GoneWebhookWaits", func(t *testing.T) {
		// A 410 disables the webhook; its other deliveries, retries among
		// them, wait until it is enabled again, then are due at once.
		s := open(t)
		w := createWebhook(t, s, newWebhook("w", assetAdded))
		publish(t, s, newEvent(assetAdded, nil, nil), newEvent(assetAdded, nil, nil), newEvent(assetAdded, nil, nil))
		now := s.clock.Now()
		ds := claimAll(t, s, now)
		equal(t, "claimed", len(ds), 3)
		gone := result(ds[0], now, false, 410)
		gone.DisableWebhook = true
		complete(t, s, gone, retry(ds[1], now, now.Add(time.Hour)), retry(ds[2], now, now.Add(48*time.Hour)))
		waiting := sorted([]int64{ds[1].ID, ds[2].ID})
		dayLater := now.Add(24 * time.Hour)
		equal(t, "claimed while disabled, a day later", len(claimAll(t, s, dayLater)), 0)
		_, err := s.UpdateWebhook(ctx(t), w.ID, hookd.WebhookUpdate{Disabled: ptr(false)})
		must(t, err, "UpdateWebhook enable")
		// Both retries are due at once, the later one too.
		ds = claimAll(t, s, dayLater)
		deepEqual(t, "claimed after re-enabling", deliveryIDs(ds), waiting)
		for _, d := range ds {
			equal(t, "attempts of a waiting retry", d.Attempts, 1)
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		s := open(t)
		createWebhook(t, s, newWebhook("a", assetAdded))
		createWebhook(t, s, newWebhook("b", assetAdded))
		var events []*hookd.Event
		for range 40 {
			events = append(events, newEvent(assetAdded, nil, nil))
		}
		publish(t, s, events...)
		now := s.clock.Now()

		var (
			mu    sync.Mutex
			seen  = map[int64]string{}
			wg    sync.WaitGroup
			dupes []string
		)
		for i := range 8 {
			worker := fmt.Sprintf("worker-%d", i)
			wg.Go(func() {
				for {
					ds, err := s.claimAt(now, worker, 3)
					if err != nil {
						t.Errorf("%s: Claim: %v", worker, err)
						return
					}
					if len(ds) == 0 {
						return
					}
					mu.Lock()
					for _, d := range ds {
						if other, ok := seen[d.ID]; ok {
							dupes = append(dupes, fmt.Sprintf("delivery %d to %s and %s", d.ID, other, worker))
						}
						seen[d.ID] = worker
					}
					stop := len(dupes) > 0 // a store that hands out leased work would loop forever
					mu.Unlock()
					if stop {
						return
					}
				}
			})
		}
		wg.Wait()
		if len(dupes) > 0 {
			t.Errorf("deliveries handed out twice: %v", dupes)
		}
		equal(t, "deliveries claimed", len(seen), 80)
	})
}

func testTargets(t *testing.T, open opener) {
	s := open(t)
	w := newWebhook("w", assetAdded)
	w.HTTPMethod = "PATCH"
	w.Headers = []hookd.Header{
		{Key: "X-Plain", Value: "plain"},
		{Key: "X-Hidden", Value: "hidden-value", Hidden: true},
		{Key: "X-Sig", Value: "hmac-key", IsHMAC: true},
	}
	must(t, s.CreateWebhook(ctx(t), w, "whsec_one"), "CreateWebhook")
	off := newWebhook("off", assetAdded)
	off.Disabled = true
	must(t, s.CreateWebhook(ctx(t), off, "whsec_two"), "CreateWebhook off")
	now := s.clock.Now()

	got, err := s.targetsAt(now, []int64{w.ID, off.ID, missingID})
	must(t, err, "Targets")
	if _, ok := got[missingID]; ok || len(got) != 2 {
		t.Fatalf("Targets has %d entries, want the 2 webhooks that exist", len(got))
	}
	tw := got[w.ID]
	equal(t, "WebhookID", tw.WebhookID, w.ID)
	equal(t, "URL", tw.URL, w.HTTPURL)
	equal(t, "Method", tw.Method, "PATCH")
	equal(t, "Disabled", tw.Disabled, false)
	deepEqual(t, "Secrets", tw.Secrets, []string{"whsec_one"})
	// The sender needs hidden values: they are hidden from the API only.
	checkHeaders(t, "target", tw.Headers, w.Headers)

	to := got[off.ID]
	equal(t, "disabled target Disabled", to.Disabled, true)
	deepEqual(t, "disabled target Secrets", to.Secrets, []string{"whsec_two"})
	checkHeaders(t, "disabled target", to.Headers, nil)

	until := now.Add(time.Hour)
	must(t, s.RotateSecret(ctx(t), w.ID, "whsec_three", until), "RotateSecret")
	got, err = s.targetsAt(now, []int64{w.ID})
	must(t, err, "Targets after rotation")
	deepEqual(t, "Secrets during rotation", got[w.ID].Secrets, []string{"whsec_three", "whsec_one"})
	got, err = s.targetsAt(until, []int64{w.ID})
	must(t, err, "Targets after the grace")
	deepEqual(t, "Secrets after the grace", got[w.ID].Secrets, []string{"whsec_three"})

	empty, err := s.targetsAt(now, nil)
	must(t, err, "Targets(nil)")
	if empty == nil || len(empty) != 0 {
		t.Errorf("Targets(nil) = %#v, want an empty map", empty)
	}
}

func testComplete(t *testing.T, open opener) {
	t.Run("Success", func(t *testing.T) {
		s := open(t)
		w := createWebhook(t, s, newWebhook("w", assetAdded))
		publish(t, s, newEvent(assetAdded, nil, nil))
		now := s.clock.Now()
		d := claimOne(t, s, now)
		figures(t, s, w.ID, 1, 0)

		r := result(d, now, true, 204)
		r.Duration = 1234 * time.Millisecond
		complete(t, s, r)
		got := figures(t, s, w.ID, 0, 0)
		if got.LatestRun == nil {
			t.Fatal("LatestRun is nil after an attempt")
		}
		sameTime(t, "LatestRun.At", got.LatestRun.At, now)
		equal(t, "LatestRun.Success", got.LatestRun.Success, true)
		equal(t, "LatestRun.HTTPStatus", got.LatestRun.HTTPStatus, 204)
		equal(t, "LatestRun.Duration", got.LatestRun.Duration, 1234*time.Millisecond)
		equal(t, "LatestRun.Event", got.LatestRun.Event, assetAdded)

		equal(t, "due after success", len(claimAll(t, s, now.Add(48*time.Hour))), 0)
		log := logOf(t, s, w.ID, true)
		equal(t, "success log", len(log), 1)
		equal(t, "failed log", len(logOf(t, s, w.ID, false)), 0)

		// A result for a finished delivery is dropped.
		complete(t, s, r)
		equal(t, "success log after a repeated result", len(logOf(t, s, w.ID, true)), 1)
	})

	t.Run("RetryThenFinal", func(t *testing.T) {
		s := open(t)
		w := createWebhook(t, s, newWebhook("w", assetAdded))
		publish(t, s, newEvent(assetAdded, nil, nil))
		now := s.clock.Now()
		d := claimOne(t, s, now)

		next := now.Add(5 * time.Second)
		complete(t, s, retry(d, now, next))
		got := figures(t, s, w.ID, 0, 1)
		if got.LatestRun == nil || got.LatestRun.Success || got.LatestRun.HTTPStatus != 503 {
			t.Errorf("LatestRun = %+v, want the 503", got.LatestRun)
		}

		// A retry in flight counts towards queue_length, not the retry queue.
		d2 := claimOne(t, s, next)
		equal(t, "Attempts", d2.Attempts, 1)
		figures(t, s, w.ID, 1, 0)

		last := next.Add(time.Second)
		final := result(d2, last, false, 500)
		complete(t, s, final)
		got = figures(t, s, w.ID, 0, 0)
		sameTime(t, "LatestRun.At", got.LatestRun.At, last)
		equal(t, "LatestRun.HTTPStatus", got.LatestRun.HTTPStatus, 500)
		equal(t, "due after a final failure", len(claimAll(t, s, last.Add(365*24*time.Hour))), 0)

		log := logOf(t, s, w.ID, false)
		if len(log) != 2 {
			t.Fatalf("failed log has %d entries, want 2", len(log))
		}
		equal(t, "newest attempt first", log[0].Attempt, 2)
		equal(t, "then the first", log[1].Attempt, 1)
		if log[0].NextAttemptAt != nil {
			t.Errorf("final failure NextAttemptAt = %v, want nil", log[0].NextAttemptAt)
		}
		sameTimePtr(t, "first failure NextAttemptAt", log[1].NextAttemptAt, &next)
		equal(t, "success log", len(logOf(t, s, w.ID, true)), 0)
	})

	t.Run("DisableWebhook", func(t *testing.T) {
		s := open(t)
		w := createWebhook(t, s, newWebhook("gone", assetAdded))
		publish(t, s, newEvent(assetAdded, nil, nil))
		now := s.clock.Now()
		d := claimOne(t, s, now)
		r := result(d, now, false, 410)
		r.ErrorClass, r.DisableWebhook = hookd.ClassGone, true
		complete(t, s, r)
		got := figures(t, s, w.ID, 0, 0)
		equal(t, "Disabled after 410", got.Disabled, true)
		equal(t, "failed log", len(logOf(t, s, w.ID, false)), 1)
	})

	// Contract: Complete tells the webhooks it disabled
	// (hookd.DisablingCompleter), which the dispatcher counts: each once,
	// when a recorded result turned it from enabled to disabled. A dropped
	// result disables nothing, a webhook disabled already is not told again,
	// and of concurrent Completes for one webhook one tells it.
	t.Run("DisableWebhookTold", func(t *testing.T) {
		s := open(t)
		dc, ok := s.Store.(hookd.DisablingCompleter)
		if !ok {
			t.Fatalf("%T is no hookd.DisablingCompleter", s.Store)
		}
		gone := createWebhook(t, s, newWebhook("gone", assetAdded))
		other := createWebhook(t, s, newWebhook("other", assetAdded))
		racer := createWebhook(t, s, newWebhook("racer", assetAdded))
		publish(t, s, newEvent(assetAdded, nil, nil), newEvent(assetAdded, nil, nil), newEvent(assetAdded, nil, nil))
		now := s.clock.Now()
		byHook := map[int64][]*hookd.Delivery{}
		for _, d := range claimAll(t, s, now) {
			byHook[d.WebhookID] = append(byHook[d.WebhookID], d)
		}
		for _, w := range []*hookd.Webhook{gone, other, racer} {
			if len(byHook[w.ID]) != 3 {
				t.Fatalf("claimed %d deliveries of %s, want 3", len(byHook[w.ID]), w.Name)
			}
		}
		answered410 := func(d *hookd.Delivery) hookd.AttemptResult {
			r := result(d, now, false, 410)
			r.ErrorClass, r.DisableWebhook = hookd.ClassGone, true
			return r
		}
		completeDisabling := func(what string, results ...hookd.AttemptResult) []int64 {
			t.Helper()
			disabled, err := dc.CompleteDisabling(ctx(t), results)
			must(t, err, "CompleteDisabling "+what)
			return disabled
		}

		stale := answered410(byHook[gone.ID][0])
		stale.Worker = "not-the-lease"
		equal(t, "webhooks disabled by a dropped result", len(completeDisabling("stale", stale)), 0)
		equal(t, "Disabled after a dropped 410", getWebhook(t, s, gone.ID).Disabled, false)

		disabled := completeDisabling("two 410s", answered410(byHook[gone.ID][0]), answered410(byHook[gone.ID][1]),
			result(byHook[other.ID][0], now, true, 200))
		deepEqual(t, "webhooks disabled by two 410s", disabled, []int64{gone.ID})
		equal(t, "Disabled after 410", getWebhook(t, s, gone.ID).Disabled, true)
		equal(t, "webhooks disabled by a 410 to a disabled webhook",
			len(completeDisabling("a later 410", answered410(byHook[gone.ID][2]))), 0)
		equal(t, "failed log", len(logOf(t, s, gone.ID, false)), 3)

		var (
			wg   sync.WaitGroup
			told = make([][]int64, 3)
		)
		for i, d := range byHook[racer.ID] {
			wg.Go(func() {
				disabled, err := dc.CompleteDisabling(ctx(t), []hookd.AttemptResult{answered410(d)})
				if err != nil {
					t.Errorf("concurrent CompleteDisabling: %v", err)
				}
				told[i] = disabled
			})
		}
		wg.Wait()
		deepEqual(t, "webhooks disabled by concurrent 410s", slices.Concat(told...), []int64{racer.ID})
		equal(t, "failed log of the concurrent 410s", len(logOf(t, s, racer.ID, false)), 3)
	})

	t.Run("UnknownAndDeleted", func(t *testing.T) {
		s := open(t)
		w := createWebhook(t, s, newWebhook("w", assetAdded))
		doomed := createWebhook(t, s, newWebhook("doomed", assetAdded))
		publish(t, s, newEvent(assetAdded, nil, nil))
		now := s.clock.Now()
		ds := claimAll(t, s, now)
		if len(ds) != 2 {
			t.Fatalf("claimed %d, want 2", len(ds))
		}
		must(t, s.DeleteWebhook(ctx(t), doomed.ID), "DeleteWebhook")

		// One batch: a delivery that never existed, one whose webhook was
		// deleted while it was in flight, and a real one.
		var results []hookd.AttemptResult
		results = append(results, result(&hookd.Delivery{ID: missingID, WebhookID: w.ID, MessageID: "msg_x"}, now, true, 200))
		for _, d := range ds {
			results = append(results, result(d, now, true, 200))
		}
		complete(t, s, results...)
		log := logOf(t, s, w.ID, true)
		equal(t, "logged attempts", len(log), 1)
		figures(t, s, w.ID, 0, 0)
	})

	// Contract: a result from a worker whose lease expired, after another
	// claim took the delivery over, is dropped: no log entry, no attempt
	// counted, and the delivery stays with the worker that holds it now.
	// Only that worker's result settles it. An empty Worker settles a
	// delivery whoever holds it.
	t.Run("StaleLease", func(t *testing.T) {
		s := open(t)
		w := createWebhook(t, s, newWebhook("w", assetAdded))
		publish(t, s, newEvent(assetAdded, nil, nil))
		now := s.clock.Now()
		claim := func(worker string, at time.Time) *hookd.Delivery {
			t.Helper()
			ds, err := s.claimAt(at, worker, 10)
			must(t, err, "Claim by "+worker)
			if len(ds) != 1 {
				t.Fatalf("Claim by %s at %v: %d deliveries, want 1", worker, at, len(ds))
			}
			return ds[0]
		}
		as := func(worker string, r hookd.AttemptResult) hookd.AttemptResult {
			r.Worker = worker
			return r
		}
		a := claim("worker-a", now)
		b := claim("worker-b", now.Add(lease)) // a's lease expired: b takes over
		equal(t, "reclaimed delivery", b.ID, a.ID)
		equal(t, "Attempts at the reclaim", b.Attempts, 0)

		// a's attempt ends late: dropped, b still holds the delivery.
		complete(t, s, as("worker-a", result(a, now.Add(lease+time.Second), true, 200)))
		equal(t, "success log after a stale result", len(logOf(t, s, w.ID, true)), 0)
		if got := figures(t, s, w.ID, 1, 0); got.LatestRun != nil {
			t.Errorf("LatestRun after a stale result = %+v, want nil", got.LatestRun)
		}

		// b's result counts: a failure with a retry.
		bAt := now.Add(lease + 2*time.Second)
		next := bAt.Add(time.Minute)
		complete(t, s, as("worker-b", retry(b, bAt, next)))
		figures(t, s, w.ID, 0, 1)
		failed := logOf(t, s, w.ID, false)
		if len(failed) != 1 {
			t.Fatalf("failed log has %d entries, want 1", len(failed))
		}
		equal(t, "attempt of b's result", failed[0].Attempt, 1)

		// A stale result for a delivery waiting for its retry (no lease) and
		// a repeat of b's are dropped too.
		complete(t, s,
			as("worker-a", result(a, bAt.Add(time.Millisecond), false, 500)),
			as("worker-b", retry(b, bAt, next)))
		equal(t, "failed log after stale results", len(logOf(t, s, w.ID, false)), 1)
		figures(t, s, w.ID, 0, 1)

		c := claim("worker-c", next)
		equal(t, "Attempts after one counted attempt", c.Attempts, 1)
		complete(t, s, as("worker-b", result(b, next.Add(time.Millisecond), true, 200)))
		equal(t, "success log after b's stale result", len(logOf(t, s, w.ID, true)), 0)
		complete(t, s, as("worker-c", result(c, next.Add(2*time.Millisecond), true, 200)))
		success := logOf(t, s, w.ID, true)
		if len(success) != 1 {
			t.Fatalf("success log has %d entries, want 1", len(success))
		}
		equal(t, "attempt of c's result", success[0].Attempt, 2)
		figures(t, s, w.ID, 0, 0)

		// An empty Worker settles the delivery whoever holds the lease.
		publish(t, s, newEvent(assetAdded, nil, nil))
		d := claim("worker-d", next)
		complete(t, s, as("", result(d, next.Add(3*time.Millisecond), true, 200)))
		equal(t, "success log after a result without a worker", len(logOf(t, s, w.ID, true)), 2)
		figures(t, s, w.ID, 0, 0)
	})

	t.Run("Batch", func(t *testing.T) {
		s := open(t)
		w := createWebhook(t, s, newWebhook("w", assetAdded))
		publish(t, s, newEvent(assetAdded, nil, nil), newEvent(assetAdded, nil, nil), newEvent(assetAdded, nil, nil))
		now := s.clock.Now()
		ds := claimAll(t, s, now)
		if len(ds) != 3 {
			t.Fatalf("claimed %d, want 3", len(ds))
		}
		// Workers finish out of order: LatestRun is the attempt made last,
		// not the one recorded last.
		complete(t, s,
			result(ds[0], now, true, 200),
			result(ds[2], now.Add(2*time.Millisecond), false, 400),
			retry(ds[1], now.Add(time.Millisecond), now.Add(time.Minute)),
		)
		got := figures(t, s, w.ID, 0, 1)
		sameTime(t, "LatestRun.At is the latest attempt", got.LatestRun.At, now.Add(2*time.Millisecond))
		equal(t, "LatestRun.HTTPStatus", got.LatestRun.HTTPStatus, 400)
		equal(t, "LatestRun.Success", got.LatestRun.Success, false)
		equal(t, "success log", len(logOf(t, s, w.ID, true)), 1)
		equal(t, "failed log", len(logOf(t, s, w.ID, false)), 2)
	})

	// A receiver's answer may hold NUL bytes and invalid UTF-8: the log
	// keeps the same text on every store (hookd.LoggableText).
	t.Run("HostileText", func(t *testing.T) {
		s := open(t)
		w := createWebhook(t, s, newWebhook("w", assetAdded))
		publish(t, s, newEvent(assetAdded, nil, nil))
		now := s.clock.Now()
		r := result(claimOne(t, s, now), now, false, 500)
		r.ResponseBody, r.Error, r.ErrorClass = "ok\x00\xffend", "redirected to \xfe/x\x00", hookd.ClassRedirect
		complete(t, s, r)
		log := logOf(t, s, w.ID, false)
		equal(t, "failed log", len(log), 1)
		equal(t, "logged response body", log[0].ResponseBody, "ok\uFFFD\uFFFDend")
		equal(t, "logged error", log[0].Error, "redirected to \uFFFD/x\uFFFD")
		equal(t, "logged error class", log[0].ErrorClass, hookd.ClassRedirect)
	})

	// More results than a store records in one statement, in a count that
	// is no sum of a few equal chunks: every one is settled and logged with
	// its own outcome, and one from a worker whose lease it is not (the
	// only result for its delivery) is dropped.
	t.Run("LargeBatch", func(t *testing.T) {
		s := open(t)
		w := createWebhook(t, s, newWebhook("w", assetAdded))
		const n = 203
		events := make([]*hookd.Event, n)
		for i := range events {
			events[i] = newEvent(assetAdded, nil, nil)
		}
		publish(t, s, events...)
		now := s.clock.Now()
		ds := claimAll(t, s, now)
		equal(t, "claimed", len(ds), n)
		results := make([]hookd.AttemptResult, 0, n)
		retries := 0
		for i, d := range ds {
			switch {
			case i == 1:
				stale := result(d, now, true, 200)
				stale.Worker = "another-worker"
				results = append(results, stale)
			case i%3 == 0:
				results = append(results, retry(d, now, now.Add(time.Hour)))
				retries++
			default:
				results = append(results, result(d, now, true, 200))
			}
		}
		complete(t, s, results...)
		succeeded := logOf(t, s, w.ID, true)
		equal(t, "success log", len(succeeded), n-retries-1)
		for _, e := range succeeded {
			if e.DeliveryID == ds[1].ID {
				t.Fatalf("the stale result for delivery %d was logged", e.DeliveryID)
			}
		}
		failed := logOf(t, s, w.ID, false)
		equal(t, "failed log", len(failed), retries)
		for _, e := range failed {
			equal(t, "failed log entry's status", e.HTTPStatus, 503)
		}
		// An hour on, the retries are due and the stale result's delivery,
		// its lease expired, is claimed again with no attempt counted.
		again := claimAll(t, s, now.Add(time.Hour))
		equal(t, "due again after an hour", len(again), retries+1)
		for _, d := range again {
			want := 1
			if d.ID == ds[1].ID {
				want = 0
			}
			equal(t, fmt.Sprintf("attempts of delivery %d", d.ID), d.Attempts, want)
		}
	})
}

// logOf reads a webhook's whole success or failed log, page by page.
func logOf(t *testing.T, s hookd.Store, webhookID int64, success bool) []*hookd.LogEntry {
	t.Helper()
	var log []*hookd.LogEntry
	for page := 1; ; page++ {
		entries, err := s.Log(ctx(t), webhookID, success, page, hookd.MaxPerPage)
		must(t, err, "Log")
		log = append(log, entries...)
		if len(entries) < hookd.MaxPerPage {
			return log
		}
	}
}

func testLog(t *testing.T, open opener) {
	s := open(t)
	w := createWebhook(t, s, newWebhook("w", assetAdded, userAdded))
	other := createWebhook(t, s, newWebhook("other", userAdded))
	var events []*hookd.Event
	for range 5 {
		events = append(events, newEvent(assetAdded, nil, nil))
	}
	res := publish(t, s, events...)
	base := s.clock.Now()
	ds := claimAll(t, s, base)
	if len(ds) != 5 {
		t.Fatalf("claimed %d, want 5", len(ds))
	}
	eventName := map[string]string{}
	for _, r := range res {
		eventName[r.Event.ID] = r.Event.Event
	}

	// Attempts at base+0s..4s: successes at 0, 2, 4; failures at 1 (retry
	// scheduled) and 3 (final).
	var results []hookd.AttemptResult
	for i, d := range ds {
		when := base.Add(time.Duration(i) * time.Second)
		var r hookd.AttemptResult
		switch i {
		case 1:
			r = retry(d, when, when.Add(5*time.Minute))
			r.ErrorClass, r.Error, r.HTTPStatus = hookd.ClassTimeout, "timeout after 15s", 0
		case 3:
			r = result(d, when, false, 500)
		default:
			r = result(d, when, true, 200+i)
		}
		r.Duration = time.Duration(100+i) * time.Millisecond
		r.RequestHeaders = map[string]string{"webhook-id": d.MessageID, "X-Secret": "***", "Content-Type": "application/json"}
		r.ResponseBody = fmt.Sprintf(`{"attempt": %d}`, i)
		results = append(results, r)
	}
	complete(t, s, results...)

	check := func(e *hookd.LogEntry, i int) {
		t.Helper()
		d, r := ds[i], results[i]
		p := fmt.Sprintf("log entry of attempt %d", i)
		if e.ID == 0 {
			t.Errorf("%s: ID zero", p)
		}
		equal(t, p+" DeliveryID", e.DeliveryID, d.ID)
		equal(t, p+" WebhookID", e.WebhookID, w.ID)
		equal(t, p+" EventID", e.EventID, d.Event.ID)
		equal(t, p+" Event", e.Event, eventName[d.Event.ID])
		equal(t, p+" MessageID", e.MessageID, d.MessageID)
		equal(t, p+" Attempt", e.Attempt, 1)
		equal(t, p+" Success", e.Success, r.Success)
		equal(t, p+" HTTPStatus", e.HTTPStatus, r.HTTPStatus)
		equal(t, p+" Duration", e.Duration, r.Duration)
		equal(t, p+" ErrorClass", e.ErrorClass, r.ErrorClass)
		equal(t, p+" Error", e.Error, r.Error)
		deepEqual(t, p+" RequestHeaders", e.RequestHeaders, r.RequestHeaders)
		equal(t, p+" ResponseBody", e.ResponseBody, r.ResponseBody)
		sameTime(t, p+" CreatedAt", e.CreatedAt, r.At)
		sameTimePtr(t, p+" NextAttemptAt", e.NextAttemptAt, r.NextAttemptAt)
	}

	page := func(success bool, n, per int) []*hookd.LogEntry {
		t.Helper()
		log, err := s.Log(ctx(t), w.ID, success, n, per)
		must(t, err, fmt.Sprintf("Log(success=%v, page %d)", success, n))
		return log
	}
	p1 := page(true, 1, 2)
	if len(p1) != 2 {
		t.Fatalf("success page 1 has %d entries, want 2", len(p1))
	}
	check(p1[0], 4) // newest first
	check(p1[1], 2)
	p2 := page(true, 2, 2)
	if len(p2) != 1 {
		t.Fatalf("success page 2 has %d entries, want 1", len(p2))
	}
	check(p2[0], 0)
	p3 := page(true, 3, 2)
	if p3 == nil || len(p3) != 0 {
		t.Errorf("success page 3 = %#v, want an empty list", p3)
	}

	failed := page(false, 1, 10)
	if len(failed) != 2 {
		t.Fatalf("failed log has %d entries, want 2", len(failed))
	}
	check(failed[0], 3)
	check(failed[1], 1)

	equal(t, "another webhook's log", len(logOf(t, s, other.ID, true)), 0)
	_, err := s.Log(ctx(t), missingID, true, 1, 10)
	mustErr(t, err, hookd.ErrNotFound, "Log(unknown webhook)")
}

func testRequeue(t *testing.T, open opener) {
	s := open(t)
	w := createWebhook(t, s, newWebhook("w", assetAdded))
	publish(t, s, newEvent(assetAdded, nil, nil), newEvent(assetAdded, nil, nil),
		newEvent(assetAdded, nil, nil), newEvent(assetAdded, nil, nil))
	other := createWebhook(t, s, newWebhook("other", userAdded))
	publish(t, s, newEvent(userAdded, nil, nil))
	base := s.clock.Now()
	ds := claimAll(t, s, base)
	if len(ds) != 5 {
		t.Fatalf("claimed %d, want 5", len(ds))
	}
	var mine []*hookd.Delivery
	var theirs *hookd.Delivery
	for _, d := range ds {
		if d.WebhookID == w.ID {
			mine = append(mine, d)
		} else {
			theirs = d
		}
	}
	failedEarly, failedAtTo, succeeded, retrying := mine[0], mine[1], mine[2], mine[3]
	from, to := base, base.Add(10*time.Second)
	complete(t, s,
		result(failedEarly, from, false, 500),                         // final failure in the window
		result(failedAtTo, to, false, 500),                            // final failure at to: outside
		result(succeeded, base.Add(5*time.Second), true, 200),         // a success: never requeued
		retry(retrying, base.Add(6*time.Second), base.Add(time.Hour)), // not final
		result(theirs, base.Add(time.Second), false, 500),             // another webhook's
	)
	figures(t, s, w.ID, 0, 1)

	now := base.Add(20 * time.Second)
	n, err := s.requeueAt(now, w.ID, from, to)
	must(t, err, "Requeue")
	equal(t, "requeued", n, 1)
	// Contract: a requeued delivery keeps its attempts, so it waits in the
	// retry queue and the log numbers its next attempt after the old ones.
	figures(t, s, w.ID, 0, 2)
	equal(t, "due before now", len(claimAll(t, s, now.Add(-time.Millisecond))), 0)
	d := claimOne(t, s, now)
	equal(t, "requeued delivery", d.ID, failedEarly.ID)
	equal(t, "Attempts of the requeued delivery", d.Attempts, 1)
	equal(t, "MessageID of the requeued delivery", d.MessageID, failedEarly.MessageID)

	n, err = s.requeueAt(now, w.ID, from, to)
	must(t, err, "Requeue again")
	equal(t, "requeued again", n, 0)
	n, err = s.requeueAt(now, other.ID, from, to.Add(-5*time.Second))
	must(t, err, "Requeue other")
	equal(t, "requeued of the other webhook", n, 1)

	_, err = s.requeueAt(now, missingID, from, to)
	mustErr(t, err, hookd.ErrNotFound, "Requeue(unknown)")
}
