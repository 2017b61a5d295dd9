package http_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/hookd/hookd"
)

// Two admins changing one webhook at once: each change is checked and
// applied in the store's transaction, against the webhook as it then is.

// firstCall holds the first call that waits on it until release is
// closed, having said so on held; later calls go on at once.
type firstCall struct {
	held, release chan struct{}
	once          sync.Once
}

func newFirstCall() *firstCall {
	return &firstCall{held: make(chan struct{}), release: make(chan struct{})}
}

func (f *firstCall) wait() {
	first := false
	f.once.Do(func() { first = true })
	if first {
		close(f.held)
		<-f.release
	}
}

// heldSettings holds its store's first UpdateSettings.
type heldSettings struct {
	hookd.Store
	*firstCall
}

func (h *heldSettings) UpdateSettings(ctx context.Context, webhookID int64, u hookd.SettingsUpdate) error {
	h.wait()
	return h.Store.UpdateSettings(ctx, webhookID, u)
}

// Two admins update different settings of one webhook at once: both hold
// (a read of all four, then a write of all four, lost the one written
// between).
func TestSettingsConcurrentUpdatesBothHold(t *testing.T) {
	backends(t, func(t *testing.T, store hookd.Store) {
		h := &heldSettings{Store: store, firstCall: newFirstCall()}
		a := newTestAPI(t, h)
		expect(t, a.do("POST", "/api/v2/admin/webhooks", a.adminKey, seedBody+"}"), 200, webhookJSON("1", "null"))
		path := "/api/v2/admin/webhooks/1/settings"
		first := make(chan response)
		go func() { first <- a.do("POST", path, a.adminKey, `{"settings":{"max_in_flight":4}}`) }()
		<-h.held
		expect(t, a.do("POST", path, a.adminKey, `{"settings":{"ordering":"project_id","filter":"event == \"ASSET_ADDED\""}}`), 200,
			`{"settings":{"max_in_flight":null,"max_per_second":null,"filter":"event == \"ASSET_ADDED\"","ordering":"project_id"}}`)
		close(h.release)
		both := `{"settings":{"max_in_flight":4,"max_per_second":null,"filter":"event == \"ASSET_ADDED\"","ordering":"project_id"}}`
		expect(t, <-first, 200, both)
		expect(t, a.do("GET", path, a.adminKey, ""), 200, both)
	})
}

// heldHeader holds its store's first UpdateHeader.
type heldHeader struct {
	hookd.Store
	*firstCall
}

func (h *heldHeader) UpdateHeader(ctx context.Context, webhookID, headerID int64, u hookd.HeaderUpdate) (*hookd.Header, error) {
	h.wait()
	return h.Store.UpdateHeader(ctx, webhookID, headerID, u)
}

// An HMAC header, hidden: one admin shows it (allowed: an HMAC key is
// never shown), another makes it a plain value meanwhile (allowed: with a
// new value, hidden). Together they would show that value: the one that
// commits second is refused, checked against the header as it then is.
func TestHeaderConcurrentUpdatesKeepTheSecret(t *testing.T) {
	backends(t, func(t *testing.T, store hookd.Store) {
		h := &heldHeader{Store: store, firstCall: newFirstCall()}
		a := newTestAPI(t, h)
		expect(t, a.do("POST", "/api/v2/admin/webhooks", a.adminKey, seedBody+"}"), 200, webhookJSON("1", "null"))
		res := a.do("POST", "/api/v2/admin/webhooks/1/webhook_headers", a.adminKey,
			`{"header_key":"X-Signature","header_value":"hmac-key","hidden":true,"is_hmac":true}`)
		if res.status != 200 {
			t.Fatalf("add header: %d %s", res.status, res.body)
		}
		path := "/api/v2/admin/webhooks/1/webhook_headers/1"
		shown := make(chan response)
		go func() { shown <- a.do("POST", path, a.adminKey, `{"hidden":false}`) }()
		<-h.held
		if res := a.do("POST", path, a.adminKey, `{"is_hmac":false,"header_value":"Bearer s3cret"}`); res.status != 200 {
			t.Fatalf("make it plain, hidden: %d %s", res.status, res.body)
		}
		close(h.release)
		expect(t, <-shown, 422, `{"error":"A hidden or HMAC header's value is never shown again: send a new header_value to make it a plain header"}`)
		if res := a.do("GET", "/api/v2/admin/webhooks/1", a.adminKey, ""); strings.Contains(string(res.body), "s3cret") {
			t.Errorf("the hidden value is shown: %s", res.body)
		}
	})
}
