package storetest

import (
	"time"

	"testing"

	"github.com/hookd/hookd"
)

// testClearPayloadsOnceDone: an event past payload retention whose
// delivery was still pending when ClearPayloads passed it keeps its data
// while it is needed, and loses it at a later call once its delivery is
// done, although that call starts where the previous one ended. It used to
// keep it for good.
func testClearPayloadsOnceDone(t *testing.T, open opener, traces Traces) {
	s := open(t)
	createWebhook(t, s, newWebhook("w", assetAdded))
	now := s.clock.Now()
	old := now.Add(-48 * time.Hour)
	e := secretEvent("retried", "RETRIED-PAYLOAD", nil, nil)
	e.CreatedAt = old
	publish(t, s, e)
	d := claimOne(t, s, now)
	complete(t, s, retry(d, now, now.Add(time.Minute)))

	_, err := s.ClearPayloads(ctx(t), now.Add(-24*time.Hour))
	must(t, err, "ClearPayloads")
	if at := traces(t, s.Store, "RETRIED-PAYLOAD"); len(at) == 0 {
		t.Fatal("the data of an event still pending was cleared")
	}

	d = claimOne(t, s, now.Add(time.Minute))
	sameJSON(t, "the retry's data", d.Event.Data, e.Data)
	complete(t, s, result(d, now.Add(time.Minute), true, 200))
	n, err := s.ClearPayloads(ctx(t), now.Add(-24*time.Hour))
	must(t, err, "ClearPayloads once delivered")
	equal(t, "cleared once delivered", n, int64(1))
	noTrace(t, s, traces, "RETRIED-PAYLOAD")
	equal(t, "cleared data", storedData(t, s, "retried"), string(hookd.ErasedData))

	n, err = s.ClearPayloads(ctx(t), now.Add(-24*time.Hour))
	must(t, err, "ClearPayloads again")
	equal(t, "cleared again", n, int64(0))
}
