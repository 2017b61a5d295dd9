package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

// nextAttemptIs checks what delivery id of webhook w shows as its next
// attempt: nil while it is in flight.
func nextAttemptIs(t *testing.T, s *testStore, w, id int64, what string, want *time.Time) {
	t.Helper()
	rec, _, err := s.Delivery(ctx(t), w, id)
	must(t, err, what+": Delivery")
	sameTimePtr(t, what+": next attempt", rec.NextAttemptAt, want)
}

// parkedByDeadWorker returns a store whose webhook w was disabled once the
// lease of its delivery d, whose worker died, had ended (at ended).
func parkedByDeadWorker(t *testing.T, open opener) (*testStore, *hookd.Webhook, *hookd.Delivery, time.Time) {
	t.Helper()
	s := open(t)
	w := createWebhook(t, s, newWebhook("w", assetAdded))
	publish(t, s, newEvent(assetAdded, nil, nil))
	t0 := s.clock.Now()
	d := claimOne(t, s, t0)
	ended := t0.Add(lease)
	s.clock.Set(ended)
	setDisabled(t, s, w.ID, true)
	return s, w, d, ended
}

// setDisabled disables or enables webhook w through the API's update.
func setDisabled(t *testing.T, s *testStore, w int64, disabled bool) {
	t.Helper()
	_, err := s.UpdateWebhook(ctx(t), w, hookd.WebhookUpdate{Disabled: ptr(disabled)})
	must(t, err, "UpdateWebhook")
}

// testParkingDue checks that what makes a delivery due while its webhook
// is disabled parks it instead (hookd.ParkedUntil): a retry recorded, an
// ordered lane's next delivery unblocked, a requeue. Enabling the webhook
// releases them with the others.
func testParkingDue(t *testing.T, open opener) {
	// Contract: a retry recorded for a webhook disabled while its attempt
	// ran is parked; a retry of an enabled webhook in the same batch waits
	// for its time.
	t.Run("retry recorded", func(t *testing.T) {
		s := open(t)
		off := createWebhook(t, s, newWebhook("off", assetAdded))
		on := createWebhook(t, s, newWebhook("on", assetAdded))
		publish(t, s, newEvent(assetAdded, nil, nil))
		t0 := s.clock.Now()
		var ofOff, ofOn *hookd.Delivery
		for _, d := range claimAll(t, s, t0) {
			if d.WebhookID == off.ID {
				ofOff = d
			} else {
				ofOn = d
			}
		}
		if ofOff == nil || ofOn == nil {
			t.Fatal("claimed no delivery of one of the webhooks")
		}
		running := t0.Add(lease / 2)
		s.clock.Set(running)
		setDisabled(t, s, off.ID, true)
		nextAttemptIs(t, s, off.ID, ofOff.ID, "in flight when disabled", nil)
		next := running.Add(10 * time.Minute)
		complete(t, s, retry(ofOff, running, next), retry(ofOn, running, next))
		nextAttemptIs(t, s, off.ID, ofOff.ID, "retry of the disabled webhook", &hookd.ParkedUntil)
		nextAttemptIs(t, s, on.ID, ofOn.ID, "retry of the enabled webhook", &next)
		equal(t, "failure logged", len(logOf(t, s, off.ID, false)), 1)
		equal(t, "claimed while disabled", len(claimAll(t, s, next)), 1) // the enabled webhook's retry

		enabled := next.Add(time.Second) // the enabled webhook's lease runs
		s.clock.Set(enabled)
		setDisabled(t, s, off.ID, false)
		nextAttemptIs(t, s, off.ID, ofOff.ID, "enabled", &enabled)
		deepEqual(t, "claimed once enabled", deliveryIDs(claimAll(t, s, enabled)), []int64{ofOff.ID})
	})

	// Contract: a parked delivery keeps its ended lease (ParkingLeases); a
	// retry that its worker records late is parked too.
	t.Run("late retry of a parked delivery", func(t *testing.T) {
		s, w, d, ended := parkedByDeadWorker(t, open)
		complete(t, s, retry(d, ended, ended.Add(time.Minute)))
		equal(t, "failure logged", len(logOf(t, s, w.ID, false)), 1)
		nextAttemptIs(t, s, w.ID, d.ID, "retried while disabled", &hookd.ParkedUntil)
	})

	// Contract: a lane's next delivery, unblocked by its head's success
	// while the webhook is disabled, is parked; once enabled, it goes.
	t.Run("lane's next delivery", func(t *testing.T) {
		s := open(t)
		w := createWebhook(t, s, newWebhook("w", assetAdded))
		publish(t, s, newEvent(userAdded, nil, nil))
		must(t, s.UpdateSettings(ctx(t), w.ID, hookd.WebhookSettings{Ordering: hookd.OrderWebhook}.Update()), "UpdateSettings")
		publish(t, s, newEvent(assetAdded, nil, nil))
		publish(t, s, newEvent(assetAdded, nil, nil))
		t0 := s.clock.Now()
		// Both fail for good, then go back into their lane, so that the
		// second one has an id to look at before it is claimed again.
		first := claimOne(t, s, t0)
		complete(t, s, result(first, t0, false, 500))
		second := claimOne(t, s, t0)
		complete(t, s, result(second, t0, false, 500))
		n, err := s.requeueAt(t0, w.ID, t0, t0.Add(time.Second))
		must(t, err, "Requeue")
		equal(t, "requeued", n, 2)
		equal(t, "head claimed", claimOne(t, s, t0).ID, first.ID)

		running := t0.Add(lease / 2)
		s.clock.Set(running)
		setDisabled(t, s, w.ID, true)
		nextAttemptIs(t, s, w.ID, second.ID, "blocked when disabled", &hookd.LaneBlocked)
		complete(t, s, result(first, running, true, 200))
		nextAttemptIs(t, s, w.ID, second.ID, "unblocked while disabled", &hookd.ParkedUntil)
		equal(t, "claimed while disabled", len(claimAll(t, s, running)), 0)

		enabled := running.Add(time.Hour)
		s.clock.Set(enabled)
		setDisabled(t, s, w.ID, false)
		nextAttemptIs(t, s, w.ID, second.ID, "enabled", &enabled)
		equal(t, "claimed once enabled", claimOne(t, s, enabled).ID, second.ID)
	})

	// Contract: a PublishTo (the test action, a notification) to a
	// disabled webhook is parked, unordered or as an ordered lane's head,
	// and goes once the webhook is enabled.
	t.Run("PublishTo", func(t *testing.T) {
		s := open(t)
		off := createWebhook(t, s, newWebhook("off", assetAdded))
		lane := createWebhook(t, s, newWebhook("lane", assetAdded))
		must(t, s.UpdateSettings(ctx(t), lane.ID, hookd.WebhookSettings{Ordering: hookd.OrderWebhook}.Update()), "UpdateSettings")
		// A delivery claimed first numbers those that follow: the next ids.
		createWebhook(t, s, newWebhook("first", userAdded))
		publish(t, s, newEvent(userAdded, nil, nil))
		t0 := s.clock.Now()
		first := claimOne(t, s, t0)
		complete(t, s, result(first, t0, true, 200))
		lastID := first.ID
		for _, w := range []int64{off.ID, lane.ID} {
			setDisabled(t, s, w, true)
			must(t, s.PublishTo(ctx(t), w, newEvent(assetAdded, nil, nil)), "PublishTo")
			lastID++
			nextAttemptIs(t, s, w, lastID, "PublishTo to a disabled webhook", &hookd.ParkedUntil)
		}
		equal(t, "claimed while disabled", len(claimAll(t, s, t0.Add(time.Hour))), 0)
		enabled := t0.Add(time.Hour)
		s.clock.Set(enabled)
		setDisabled(t, s, off.ID, false)
		setDisabled(t, s, lane.ID, false)
		deepEqual(t, "claimed once enabled", deliveryIDs(claimAll(t, s, enabled)), []int64{lastID - 1, lastID})
	})

	// Contract: Requeue and RequeueFailed park the deliveries of a disabled
	// webhook, an ordered lane's head among them (the rest of its lane
	// stays blocked), and make those of an enabled one due.
	t.Run("requeue", func(t *testing.T) {
		s := open(t)
		off := createWebhook(t, s, newWebhook("off", assetAdded))
		on := createWebhook(t, s, newWebhook("on", assetAdded))
		lane := createWebhook(t, s, newWebhook("lane", assetAdded))
		publish(t, s, newEvent(userAdded, nil, nil))
		must(t, s.UpdateSettings(ctx(t), lane.ID, hookd.WebhookSettings{Ordering: hookd.OrderWebhook}.Update()), "UpdateSettings")
		publish(t, s, newEvent(assetAdded, nil, nil), newEvent(assetAdded, nil, nil))
		t0 := s.clock.Now()
		failed := map[int64][]int64{} // by webhook, in lane order
		for ds := claimAll(t, s, t0); len(ds) > 0; ds = claimAll(t, s, t0) {
			for _, d := range ds {
				complete(t, s, result(d, t0, false, 500))
				failed[d.WebhookID] = append(failed[d.WebhookID], d.ID)
			}
		}
		for _, w := range []int64{off.ID, on.ID, lane.ID} {
			equal(t, "failed for good", len(failed[w]), 2)
		}
		setDisabled(t, s, off.ID, true)
		setDisabled(t, s, lane.ID, true)

		requeued := t0.Add(time.Minute)
		n, err := s.requeueAt(requeued, off.ID, t0, requeued)
		must(t, err, "Requeue")
		equal(t, "requeued", n, 2)
		n, err = s.RequeueFailed(ctx(t), t0, requeued)
		must(t, err, "RequeueFailed")
		equal(t, "requeued for every webhook", n, 4)
		for _, id := range failed[off.ID] {
			nextAttemptIs(t, s, off.ID, id, "requeued while disabled", &hookd.ParkedUntil)
		}
		nextAttemptIs(t, s, lane.ID, failed[lane.ID][0], "lane head requeued while disabled", &hookd.ParkedUntil)
		nextAttemptIs(t, s, lane.ID, failed[lane.ID][1], "lane's next requeued while disabled", &hookd.LaneBlocked)
		for _, id := range failed[on.ID] {
			nextAttemptIs(t, s, on.ID, id, "requeued while enabled", &requeued)
		}
		deepEqual(t, "claimed while disabled", slices.Sorted(slices.Values(deliveryIDs(claimAll(t, s, requeued)))),
			slices.Sorted(slices.Values(failed[on.ID])))

		enabled := requeued.Add(lease / 2) // the enabled webhook's leases run
		s.clock.Set(enabled)
		setDisabled(t, s, off.ID, false)
		setDisabled(t, s, lane.ID, false)
		deepEqual(t, "claimed once enabled", slices.Sorted(slices.Values(deliveryIDs(claimAll(t, s, enabled)))),
			slices.Sorted(slices.Values(append(failed[off.ID], failed[lane.ID][0]))))
	})
}
