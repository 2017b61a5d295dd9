package storetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

// testEraseBeyondOneChunk erases a project whose events and deliveries
// cost several chunks of hookd.EraseChunk, the size the stores use (or
// fewer, where a store's own tests make it smaller): every event of the
// project is erased, each of its pending deliveries cancelled once and
// each of its logged bodies cleared, and another project's events, mixed
// in among them, keep their data, deliveries and bodies.
func testEraseBeyondOneChunk(t *testing.T, open opener, traces Traces) {
	s := open(t)
	createProject(t, s, "gone")
	createProject(t, s, "stays")
	succeeds := createWebhook(t, s, newWebhook("succeeds", assetAdded))
	retries := createWebhook(t, s, newWebhook("retries", assetAdded))
	now := s.clock.Now()

	// Each event and its two deliveries cost 3: n events cost three chunks.
	n := hookd.EraseChunk
	var events []*hookd.Event
	kept := 0
	for i := range n {
		if i%50 == 0 {
			events = append(events, secretEvent(fmt.Sprintf("stays-%d", kept), "KEPT-BEYOND", ptr("stays"), ptr(int64(3))))
			kept++
		}
		events = append(events, secretEvent(fmt.Sprintf("gone-%d", i), "SECRET-BEYOND", ptr("gone"), ptr(int64(3))))
	}
	publish(t, s, events...)

	// Every delivery is tried once and its body echoed back: the first
	// webhook's succeed, the second's wait for a retry.
	var results []hookd.AttemptResult
	for _, d := range claimAll(t, s, now) {
		secret := "KEPT-BEYOND"
		if strings.HasPrefix(d.Event.ID, "gone-") {
			secret = "SECRET-BEYOND"
		}
		r := echo(d, now, secret)
		if d.WebhookID == succeeds.ID {
			r = result(d, now, true, 200)
			r.ResponseBody = "got " + secret
		}
		results = append(results, r)
	}
	equal(t, "deliveries tried", len(results), 2*(n+kept))
	complete(t, s, results...)

	s.clock.Set(now.Add(time.Minute))
	erased, err := s.Erase(ctx(t), hookd.Erasure{ProjectID: "gone"})
	must(t, err, "Erase project")
	deepEqual(t, "project erased", erased, hookd.Erased{Events: n, Cancelled: n, Attempts: 2 * n})
	noTrace(t, s, traces, "SECRET-BEYOND")
	for i := range n {
		equal(t, fmt.Sprintf("gone-%d's data", i), storedData(t, s, fmt.Sprintf("gone-%d", i)), string(hookd.ErasedData))
	}
	for i := range kept {
		sameJSON(t, fmt.Sprintf("stays-%d's data", i), []byte(storedData(t, s, fmt.Sprintf("stays-%d", i))), []byte(`{"note": "KEPT-BEYOND"}`))
	}

	// Each of the project's retried deliveries was cancelled once; the
	// other project's still wait for their retry, their bodies kept.
	cancelled := map[string]int{}
	for _, e := range logOf(t, s, retries.ID, false) {
		if e.ErrorClass == hookd.ErasedErrorClass {
			cancelled[e.EventID]++
		}
	}
	equal(t, "events whose delivery was cancelled", len(cancelled), n)
	for id, times := range cancelled {
		if !strings.HasPrefix(id, "gone-") || times != 1 {
			t.Errorf("%s's delivery was cancelled %d times", id, times)
		}
	}
	for _, hook := range []*hookd.Webhook{succeeds, retries} {
		bodies := 0
		for _, e := range append(logOf(t, s, hook.ID, true), logOf(t, s, hook.ID, false)...) {
			if e.ResponseBody == "got KEPT-BEYOND" {
				bodies++
			}
		}
		equal(t, hook.Name+"'s bodies kept", bodies, kept)
	}
	figures(t, s, retries.ID, 0, kept)
}
