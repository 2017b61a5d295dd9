package postgres_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/postgres/pgtest"
	"github.com/hookd/hookd/internal/storeopt"
)

// TestPublishAtOnce checks that a publish of new events, matched early
// with a current index, is one statement (no BEGIN, no COMMIT), and that
// a publish whose early matches are stale, because another process
// changed a webhook, or whose id is stored already, takes the whole
// transaction instead, with the same result as ever and nothing stored
// twice.
func TestPublishAtOnce(t *testing.T) {
	schema := pgtest.Schema(t)
	var mu sync.Mutex
	var statements []string
	observe := func(query string, _ time.Duration, _ error) {
		if strings.HasPrefix(query, "LISTEN ") {
			// The store's wake-up connection, which starts listening in
			// the background: on a loaded machine, during a publish.
			return
		}
		mu.Lock()
		statements = append(statements, strings.Join(strings.Fields(query), " "))
		mu.Unlock()
	}
	counted := func(publish func()) []string {
		t.Helper()
		mu.Lock()
		statements = nil
		mu.Unlock()
		publish()
		mu.Lock()
		defer mu.Unlock()
		return statements
	}
	a := pgtest.OpenSchema(t, schema, storeopt.WithQueryObserver(observe))
	b := pgtest.OpenSchema(t, schema)
	first := newWebhook(t, a, "ASSET_ADDED")
	publish(t, a, 1, "ASSET_ADDED") // reads the index: a transaction

	got := counted(func() {
		if res := publish(t, a, 3, "ASSET_ADDED"); res[0].Deliveries != 1 || res[2].Deliveries != 1 {
			t.Errorf("published %+v, want a delivery each", res)
		}
	})
	if len(got) != 1 || !strings.HasPrefix(got[0], "WITH v AS") {
		t.Errorf("a publish of new events ran %d statements, want the one: %q", len(got), got)
	}

	// Another process adds a webhook: a's early matches are of the
	// version before, and the statement finds the new one.
	second := newWebhook(t, b, "ASSET_ADDED")
	got = counted(func() {
		if res := publish(t, a, 1, "ASSET_ADDED"); res[0].Deliveries != 2 {
			t.Errorf("after another process added a webhook: %d deliveries, want 2", res[0].Deliveries)
		}
	})
	if len(got) < 3 || got[1] != "begin" {
		t.Errorf("a publish with stale matches ran %q, want the statement, then the transaction", got)
	}
	if got := counted(func() { publish(t, a, 1, "ASSET_ADDED") }); len(got) != 1 {
		t.Errorf("with the index current again: %d statements, want 1: %q", len(got), got)
	}

	// A batch with an id already stored: the statement fails whole, and
	// the transaction stores the new event once and answers the repeat.
	const key = 7
	if _, err := a.PublishEvents(ctxT(t), []*hookd.Event{{ID: "stored", Event: "ASSET_ADDED", PublisherKeyID: key}}); err != nil {
		t.Fatal(err)
	}
	res, err := a.PublishEvents(ctxT(t), []*hookd.Event{
		{ID: "new", Event: "ASSET_ADDED", PublisherKeyID: key},
		{ID: "stored", Event: "ASSET_ADDED", PublisherKeyID: key},
	})
	if err != nil || res[0].Duplicate || !res[1].Duplicate || res[0].Deliveries != 2 {
		t.Fatalf("a batch with a stored id: %+v, %v", res, err)
	}
	var newDeliveries int
	if err := a.Pool().QueryRow(ctxT(t), `SELECT count(*) FROM deliveries WHERE event_id = 'new'`).Scan(&newDeliveries); err != nil {
		t.Fatal(err)
	}
	if newDeliveries != 2 {
		t.Errorf("the new event of a batch with a stored id has %d deliveries, want 2", newDeliveries)
	}

	// Every event has a delivery to each webhook it matched when stored.
	var perWebhook [2]int
	for i, w := range []*hookd.Webhook{first, second} {
		if err := a.Pool().QueryRow(ctxT(t), `SELECT count(*) FROM deliveries WHERE webhook_id = $1`, w.ID).Scan(&perWebhook[i]); err != nil {
			t.Fatal(err)
		}
	}
	if perWebhook != [2]int{8, 4} {
		t.Errorf("deliveries per webhook %v, want [8 4]", perWebhook)
	}
}
