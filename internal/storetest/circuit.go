package storetest

import (
	"testing"
	"time"

	"github.com/hookd/hookd"
)

// testCircuit checks that Complete records each attempt in its webhook's
// circuit (hookd.Circuit.RecordAll with the default policy) and that
// Circuit reads it back.
func testCircuit(t *testing.T, open opener) {
	p := hookd.DefaultCircuitPolicy
	// failing is a failed attempt of d begun at when, with a retry a second
	// later: a status (503 counts, 404 does not) or, when status is 0, a
	// timeout.
	failing := func(d *hookd.Delivery, when time.Time, status int) hookd.AttemptResult {
		r := retry(d, when, when.Add(time.Second))
		r.Worker, r.HTTPStatus = "", status // settles whoever holds the lease
		if status == 0 {
			r.ErrorClass = hookd.ClassTimeout
		}
		return r
	}
	succeeding := func(d *hookd.Delivery, when time.Time) hookd.AttemptResult {
		r := result(d, when, true, 200)
		r.Worker = ""
		return r
	}
	// setup is a store with a webhook and one delivery to it, claimed.
	setup := func(t *testing.T) (*testStore, *hookd.Delivery) {
		s := open(t)
		createWebhook(t, s, newWebhook("flaky", assetAdded))
		publish(t, s, newEvent(assetAdded, nil, nil))
		return s, claimOne(t, s, s.clock.Now())
	}
	circuit := func(t *testing.T, s *testStore, id int64) hookd.Circuit {
		t.Helper()
		c, err := s.Circuit(ctx(t), id)
		must(t, err, "Circuit")
		return c
	}
	// failures records n failures of d, one a second from from.
	failures := func(t *testing.T, s *testStore, d *hookd.Delivery, from time.Time, n, status int) {
		t.Helper()
		for i := range n {
			complete(t, s, failing(d, from.Add(time.Duration(i)*time.Second), status))
		}
	}

	t.Run("closed at first, unknown webhook", func(t *testing.T) {
		s, d := setup(t)
		equal(t, "state", circuit(t, s, d.WebhookID).State, hookd.CircuitClosed)
		_, err := s.Circuit(ctx(t), missingID)
		mustErr(t, err, hookd.ErrNotFound, "Circuit of a missing webhook")
	})

	t.Run("failures open it at the threshold", func(t *testing.T) {
		s, d := setup(t)
		t0 := s.clock.Now()
		failures(t, s, d, t0, p.Failures-1, 503)
		c := circuit(t, s, d.WebhookID)
		equal(t, "state below the threshold", c.State, hookd.CircuitClosed)
		equal(t, "failures", c.Failures, p.Failures-1)
		s.clock.Set(t0.Add(time.Minute))
		complete(t, s, failing(d, t0.Add(time.Minute), 0))
		c = circuit(t, s, d.WebhookID)
		equal(t, "state", c.State, hookd.CircuitOpen)
		equal(t, "failures", c.Failures, p.Failures)
		equal(t, "opens", c.Opens, 1)
		sameTimePtr(t, "opened at", c.OpenedAt, ptr(t0.Add(time.Minute)))
		sameTimePtr(t, "probe at", c.ProbeAt, ptr(t0.Add(time.Minute+p.Cooldown)))
		stats, err := s.QueueStats(ctx(t))
		must(t, err, "QueueStats")
		equal(t, "open circuits", stats.OpenCircuits, 1)
	})

	t.Run("a 4xx does not count and ends the run", func(t *testing.T) {
		s, d := setup(t)
		t0 := s.clock.Now()
		failures(t, s, d, t0, p.Failures-1, 503)
		failures(t, s, d, t0.Add(time.Minute), 3, 404)
		c := circuit(t, s, d.WebhookID)
		equal(t, "state", c.State, hookd.CircuitClosed)
		equal(t, "failures", c.Failures, 0)
		failures(t, s, d, t0.Add(2*time.Minute), p.Failures-1, 429)
		equal(t, "failures after 429s", circuit(t, s, d.WebhookID).Failures, p.Failures-1)
	})

	t.Run("a success resets the run", func(t *testing.T) {
		s, d := setup(t)
		t0 := s.clock.Now()
		failures(t, s, d, t0, p.Failures-1, 503)
		complete(t, s, succeeding(d, t0.Add(time.Minute)))
		c := circuit(t, s, d.WebhookID)
		equal(t, "state", c.State, hookd.CircuitClosed)
		equal(t, "failures", c.Failures, 0)
	})

	t.Run("results in any order", func(t *testing.T) {
		s, d := setup(t)
		t0 := s.clock.Now()
		must(t, s.PublishTo(ctx(t), d.WebhookID, newEvent(assetAdded, nil, nil)), "PublishTo")
		other := claimOne(t, s, t0)
		// One batch out of order: in time order, two failures, a success,
		// one failure.
		complete(t, s, failing(d, t0.Add(4*time.Second), 503), succeeding(other, t0.Add(3*time.Second)),
			failing(d, t0.Add(time.Second), 503), failing(d, t0.Add(2*time.Second), 0))
		equal(t, "failures after the batch", circuit(t, s, d.WebhookID).Failures, 1)
		// Failures begun before the success, reported late, do not count.
		failures(t, s, d, t0, 3, 503)
		c := circuit(t, s, d.WebhookID)
		equal(t, "state after late failures", c.State, hookd.CircuitClosed)
		equal(t, "failures after late failures", c.Failures, 1)
	})

	t.Run("the probe's success closes it", func(t *testing.T) {
		s, d := setup(t)
		t0 := s.clock.Now()
		failures(t, s, d, t0, p.Failures, 503)
		opened := circuit(t, s, d.WebhookID)
		equal(t, "state", opened.State, hookd.CircuitOpen)
		equal(t, "claimed while open", len(claimAll(t, s, opened.ProbeAt.Add(-time.Millisecond))), 0)
		probe := claimOne(t, s, *opened.ProbeAt)
		equal(t, "state with the probe out", circuit(t, s, d.WebhookID).State, hookd.CircuitHalfOpen)
		complete(t, s, succeeding(probe, *opened.ProbeAt))
		c := circuit(t, s, d.WebhookID)
		equal(t, "state", c.State, hookd.CircuitClosed)
		equal(t, "failures", c.Failures, 0)
		equal(t, "opens", c.Opens, 0)
		equalPtr(t, "opened at", c.OpenedAt, nil)
		equalPtr(t, "probe at", c.ProbeAt, nil)
	})

	t.Run("the probe's failure opens it again, for longer", func(t *testing.T) {
		s, d := setup(t)
		t0 := s.clock.Now()
		failures(t, s, d, t0, p.Failures, 503)
		opened := circuit(t, s, d.WebhookID)
		probe := claimOne(t, s, *opened.ProbeAt)
		reopen := opened.ProbeAt.Add(2 * time.Second)
		s.clock.Set(reopen)
		complete(t, s, failing(probe, *opened.ProbeAt, 0))
		c := circuit(t, s, d.WebhookID)
		equal(t, "state", c.State, hookd.CircuitOpen)
		equal(t, "opens", c.Opens, 2)
		sameTimePtr(t, "opened at", c.OpenedAt, &reopen)
		sameTimePtr(t, "probe at", c.ProbeAt, ptr(reopen.Add(2*p.Cooldown)))
	})
}
