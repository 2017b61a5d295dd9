package storetest

import (
	"testing"
	"time"

	"github.com/hookd/hookd"
)

// testParkingLeases checks which deliveries disabling a webhook parks
// (hookd.DisabledChange): those not in flight, a delivery whose lease has
// ended (its worker died, or left it when it found the webhook disabled)
// among them, whatever way the webhook is disabled. A delivery whose lease
// runs is left to its worker.
func testParkingLeases(t *testing.T, open opener) {
	// Contract: a delivery whose lease ended is not in flight: disabling
	// its webhook parks it, and enabling the webhook makes it due at once.
	for _, how := range []string{"API", "410", "DisableFailing"} {
		t.Run("lease ended/"+how, func(t *testing.T) {
			s := open(t)
			w := createWebhook(t, s, newWebhook("w", assetAdded))
			publish(t, s, newEvent(assetAdded, nil, nil), newEvent(assetAdded, nil, nil))
			t0 := s.clock.Now()
			ds := claimAll(t, s, t0)
			equal(t, "claimed", len(ds), 2)
			dead, other := ds[0], ds[1] // dead's worker dies
			if how == "DisableFailing" {
				complete(t, s, retry(other, t0, t0.Add(10*time.Minute)))
			}
			ended := t0.Add(lease)
			s.clock.Set(ended)
			switch how {
			case "API":
				setDisabled(t, s, w.ID, true)
			case "410":
				gone := result(other, ended, false, 410)
				gone.DisableWebhook = true
				complete(t, s, gone)
			case "DisableFailing":
				disabled, err := s.DisableFailing(ctx(t), ended)
				must(t, err, "DisableFailing")
				deepEqual(t, "disabled", disabled, []int64{w.ID})
			}
			equal(t, "Disabled", getWebhook(t, s, w.ID).Disabled, true)
			nextAttemptIs(t, s, w.ID, dead.ID, "disabled", &hookd.ParkedUntil)
			equal(t, "claimed while disabled", len(claimAll(t, s, ended.Add(time.Hour))), 0)

			enabled := ended.Add(time.Hour)
			setDisabled(t, s, w.ID, false)
			nextAttemptIs(t, s, w.ID, dead.ID, "enabled", &enabled)
			var again *hookd.Delivery
			for _, d := range claimAll(t, s, enabled) {
				if d.ID == dead.ID {
					again = d
				}
			}
			if again == nil {
				t.Fatalf("delivery %d not claimed after enabling", dead.ID)
			}
			equal(t, "attempts of the parked delivery", again.Attempts, 0)
		})
	}

	// Contract: parking keeps an ended lease: a late result from its
	// worker, not taken over by another claim, is still recorded.
	t.Run("late result of a parked delivery", func(t *testing.T) {
		s, w, d, ended := parkedByDeadWorker(t, open)
		nextAttemptIs(t, s, w.ID, d.ID, "disabled", &hookd.ParkedUntil)
		complete(t, s, result(d, ended, true, 200))
		equal(t, "success log", len(logOf(t, s, w.ID, true)), 1)
		setDisabled(t, s, w.ID, false)
		equal(t, "claimed once enabled", len(claimAll(t, s, ended.Add(time.Hour))), 0)
	})

	// Contract: a delivery whose lease runs when its webhook is disabled
	// or enabled is its worker's: not parked, not made due, its result
	// recorded. Once the lease ends it is due again (its next_attempt_at
	// is the lease's end), and claimed as soon as the webhook is enabled.
	t.Run("lease running", func(t *testing.T) {
		s := open(t)
		w := createWebhook(t, s, newWebhook("w", assetAdded))
		publish(t, s, newEvent(assetAdded, nil, nil), newEvent(assetAdded, nil, nil))
		t0 := s.clock.Now()
		ds := claimAll(t, s, t0)
		equal(t, "claimed", len(ds), 2)
		done, dead := ds[0], ds[1]
		running := t0.Add(lease / 2)
		s.clock.Set(running)
		setDisabled(t, s, w.ID, true)
		nextAttemptIs(t, s, w.ID, dead.ID, "disabled while in flight", nil)
		complete(t, s, result(done, running, true, 200))
		equal(t, "success log", len(logOf(t, s, w.ID, true)), 1)

		setDisabled(t, s, w.ID, false)
		nextAttemptIs(t, s, w.ID, dead.ID, "enabled while in flight", nil)
		equal(t, "claimed while the lease runs", len(claimAll(t, s, running)), 0)
		setDisabled(t, s, w.ID, true)
		ended := t0.Add(lease)
		s.clock.Set(ended)
		nextAttemptIs(t, s, w.ID, dead.ID, "lease ended while disabled", &ended)
		setDisabled(t, s, w.ID, false)
		deepEqual(t, "claimed once enabled", deliveryIDs(claimAll(t, s, ended)), []int64{dead.ID})
	})

	// Contract: a probe whose worker died is parked like any delivery whose
	// lease ended; once the webhook is enabled, the half open circuit
	// counts the probe as lost and lets it out again as the next probe.
	t.Run("lost probe", func(t *testing.T) {
		s := open(t)
		w := createWebhook(t, s, newWebhook("w", assetAdded))
		publish(t, s, newEvent(assetAdded, nil, nil))
		when := s.clock.Now()
		for range hookd.DefaultCircuitPolicy.Failures {
			d := claimOne(t, s, when)
			complete(t, s, retry(d, when, when.Add(time.Second)))
			when = when.Add(time.Second)
		}
		c, err := s.Circuit(ctx(t), w.ID)
		must(t, err, "Circuit")
		equal(t, "circuit after the failures", c.State, hookd.CircuitOpen)
		probe := claimOne(t, s, *c.ProbeAt) // its worker dies
		ended := c.ProbeAt.Add(lease)
		s.clock.Set(ended)
		setDisabled(t, s, w.ID, true)
		nextAttemptIs(t, s, w.ID, probe.ID, "disabled", &hookd.ParkedUntil)
		enabled := ended.Add(time.Hour)
		s.clock.Set(enabled)
		setDisabled(t, s, w.ID, false)
		equal(t, "probe claimed again", claimOne(t, s, enabled).ID, probe.ID)
		c, err = s.Circuit(ctx(t), w.ID)
		must(t, err, "Circuit")
		equal(t, "circuit with the probe out again", c.State, hookd.CircuitHalfOpen)
		sameTimePtr(t, "end of the probe's lease", c.ProbeAt, ptr(enabled.Add(lease)))
	})

	// Contract: a lane's head whose lease ended is parked as the head: once
	// enabled, it goes first and the rest of its lane waits for it.
	t.Run("ordered lane", func(t *testing.T) {
		s := open(t)
		w := createWebhook(t, s, newWebhook("w", assetAdded))
		publish(t, s, newEvent(userAdded, nil, nil))
		must(t, s.UpdateSettings(ctx(t), w.ID, hookd.WebhookSettings{Ordering: hookd.OrderWebhook}.Update()), "UpdateSettings")
		publish(t, s, newEvent(assetAdded, nil, nil))
		publish(t, s, newEvent(assetAdded, nil, nil))
		t0 := s.clock.Now()
		head := claimOne(t, s, t0)
		ended := t0.Add(lease)
		s.clock.Set(ended)
		setDisabled(t, s, w.ID, true)
		nextAttemptIs(t, s, w.ID, head.ID, "disabled", &hookd.ParkedUntil)
		setDisabled(t, s, w.ID, false)
		again := claimOne(t, s, ended)
		equal(t, "claimed first after enabling", again.ID, head.ID)
		complete(t, s, result(again, ended, true, 200))
		next := claimOne(t, s, ended)
		if next.ID == head.ID {
			t.Fatalf("claimed the head %d again, want the next of its lane", head.ID)
		}
	})
}
