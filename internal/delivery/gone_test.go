package delivery

import (
	"context"
	"encoding/json"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/metrics"
)

// Several attempts in flight at once to one webhook, each answered 410,
// disable one webhook: hookd_webhooks_auto_disabled_total{reason="gone"}
// counts it once, after the store recorded it, not once per 410.
func TestGoneCountedOncePerWebhook(t *testing.T) {
	backends(t, testGoneCountedOncePerWebhook)
}

func testGoneCountedOncePerWebhook(t *testing.T, st hookd.Store) {
	// The receiver answers a first delivery, so that its webhook has a
	// window of InitialWindow attempts (windows), then holds every request
	// until all n are in, so that n attempts are in flight when the first
	// 410 is answered.
	const n = InitialWindow
	ctx := context.Background()
	var arrived atomic.Int32
	allIn := make(chan struct{})
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		switch arrived.Add(1) {
		case 1:
			w.WriteHeader(http.StatusNoContent)
			return
		case 1 + n:
			close(allIn)
		}
		select {
		case <-allIn:
		case <-time.After(10 * time.Second):
		}
		w.WriteHeader(http.StatusGone)
	})
	wh := &hookd.Webhook{Name: "gone", HTTPURL: rc.URL, HTTPMethod: http.MethodPost, TriggerEvents: []string{"ASSET_ADDED"}}
	if err := st.CreateWebhook(ctx, wh, hookd.NewSigningSecret()); err != nil {
		t.Fatal(err)
	}
	if err := st.UpdateSettings(ctx, wh.ID, hookd.WebhookSettings{MaxInFlight: n}.Update()); err != nil {
		t.Fatal(err)
	}
	publish := func(k int) {
		t.Helper()
		events := make([]*hookd.Event, k)
		for i := range events {
			events[i] = &hookd.Event{Event: "ASSET_ADDED", Data: json.RawMessage(`{}`)}
		}
		if _, err := st.PublishEvents(ctx, events); err != nil {
			t.Fatal(err)
		}
	}

	m := metrics.New()
	stop := startDispatcher(t, Config{
		Store:       st,
		Sender:      NewSender(SenderConfig{Timeout: 15 * time.Second, AllowPrivate: loopback}),
		Policy:      fastPolicy(),
		Concurrency: 2 * n,
		Observer:    m,
	})
	publish(1)
	waitFor(t, 20*time.Second, "the first delivery recorded", func() bool {
		log, err := st.Log(ctx, wh.ID, true, 1, 50)
		return err == nil && len(log) == 1
	})
	publish(n)
	waitFor(t, 20*time.Second, "the 410s recorded", func() bool {
		log, err := st.Log(ctx, wh.ID, false, 1, 50)
		return err == nil && len(log) == n
	})
	stop() // the completer has told the observer all it will

	if got := arrived.Load(); got != 1+n {
		t.Errorf("receiver got %d requests, want %d", got, 1+n)
	}
	w, err := st.Webhook(ctx, wh.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !w.Disabled {
		t.Error("webhook not disabled after 410")
	}
	if got := gatheredValue(t, m, "hookd_webhooks_auto_disabled_total", "reason", metrics.ReasonGone); got != 1 {
		t.Errorf(`hookd_webhooks_auto_disabled_total{reason="gone"} = %v, want 1`, got)
	}
}

// gatheredValue reads the counter name{label="value"} of m.
func gatheredValue(t *testing.T, m *metrics.Metrics, name, label, value string) float64 {
	t.Helper()
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, mt := range f.GetMetric() {
			for _, l := range mt.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					return mt.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("%s{%s=%q} not gathered", name, label, value)
	return 0
}
