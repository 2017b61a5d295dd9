package storetest

import (
	"testing"
	"time"

	"github.com/hookd/hookd"
)

// testProbeCircuit checks that an open circuit's probe can be made due at
// once: the next claim sends it, and only it.
func testProbeCircuit(t *testing.T, open opener) {
	s := open(t)
	w := createWebhook(t, s, newWebhook("flaky", assetAdded))
	c, err := s.ProbeCircuit(ctx(t), w.ID)
	must(t, err, "ProbeCircuit of a closed circuit")
	equal(t, "a closed circuit stays closed", c.State, hookd.CircuitClosed)
	_, err = s.ProbeCircuit(ctx(t), missingID)
	mustErr(t, err, hookd.ErrNotFound, "ProbeCircuit of a missing webhook")

	// Open the circuit with failures that each schedule a retry at once,
	// and add a second delivery.
	publish(t, s, newEvent(assetAdded, nil, nil), newEvent(assetAdded, nil, nil))
	t0 := s.clock.Now()
	ds := claimAll(t, s, t0)
	equal(t, "claimed", len(ds), 2)
	for i := range hookd.DefaultCircuitPolicy.Failures {
		r := retry(ds[0], t0.Add(time.Duration(i)*time.Millisecond), t0)
		r.Worker = ""
		complete(t, s, r)
	}
	c, err = s.Circuit(ctx(t), w.ID)
	must(t, err, "Circuit")
	equal(t, "opened", c.State, hookd.CircuitOpen)
	opened, err := s.ListWebhooks(ctx(t), hookd.WebhookFilter{Health: hookd.HealthCircuitOpen})
	must(t, err, "ListWebhooks of open circuits")
	deepEqual(t, "the webhooks with an open circuit", webhookIDs(opened), []int64{w.ID})
	r := retry(ds[1], t0, t0)
	r.Worker = ""
	complete(t, s, r)

	now := s.clock.Advance(time.Second)
	equal(t, "nothing claimable while open", len(claimAll(t, s, now)), 0)
	drainWakeup(s)
	c, err = s.ProbeCircuit(ctx(t), w.ID)
	must(t, err, "ProbeCircuit")
	equal(t, "still open", c.State, hookd.CircuitOpen)
	sameTimePtr(t, "probe at", c.ProbeAt, ptr(now))
	awaitWakeup(t, s, "after ProbeCircuit")
	equal(t, "the probe goes out, alone", len(claimAll(t, s, now)), 1)
	c, err = s.ProbeCircuit(ctx(t), w.ID)
	must(t, err, "ProbeCircuit while the probe is out")
	equal(t, "half open: the probe is out", c.State, hookd.CircuitHalfOpen)
}
