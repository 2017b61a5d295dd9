package delivery

import (
	"context"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

// TestOrderedLaneThroughThePipeline: an ordered webhook's deliveries go out
// one after the other, in order, and each is recorded as soon as its
// attempt ends (AttemptResult.Unblocks): with results otherwise recorded
// only once an hour (FlushInterval), the lane would stop after its first.
func TestOrderedLaneThroughThePipeline(t *testing.T) {
	fairBackends(t, func(t *testing.T, st hookd.Store) {
		const deliveries = 20
		rc := newArrivals(t)
		w := createHook(t, st, "ordered", rc.URL, "ASSET_ADDED")
		if err := st.UpdateSettings(context.Background(), w.ID, hookd.WebhookSettings{Ordering: hookd.OrderWebhook}.Update()); err != nil {
			t.Fatal(err)
		}
		publishN(t, st, "ASSET_ADDED", 0, deliveries)
		startDispatcher(t, Config{Store: st, Sender: testSender(2 * time.Second), Policy: fastPolicy(),
			Concurrency: 8, BatchSize: 1000, FlushInterval: time.Hour})
		waitFor(t, 30*time.Second, "the lane", func() bool { return rc.count() == deliveries })
		rc.mu.Lock()
		defer rc.mu.Unlock()
		for n := 1; n < deliveries; n++ {
			if rc.at[n].Before(rc.at[n-1]) {
				t.Errorf("delivery %d arrived before delivery %d", n, n-1)
			}
		}
	})
}
