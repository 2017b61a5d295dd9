package sqlite

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/storeopt"
)

// A PublishTo queued behind a waiting fan-out names its webhook in a
// column (fan_outs.webhook_id, migration 0024) that a process of an
// earlier version, in a rolling upgrade, does not read. What such a
// process reads of the row, where the fan-out starts, leaves no webhook to
// send the event to: not every webhook that matches it.
func TestQueuedPublishToIsNothingToAnEarlierVersion(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "hookd.db"), storeopt.WithFanOutChunk(1))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var ids []int64
	for _, name := range []string{"ordered", "other"} {
		w := &hookd.Webhook{Name: name, HTTPURL: "https://receiver.example/" + name, HTTPMethod: "POST",
			TriggerEvents: []string{"ASSET_ADDED"}}
		if err := s.CreateWebhook(ctx, w, ""); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, w.ID)
	}
	if err := s.UpdateSettings(ctx, ids[0], hookd.WebhookSettings{Ordering: hookd.OrderWebhook}.Update()); err != nil {
		t.Fatal(err)
	}
	// Two matches over a chunk of one: the event waits for FanOut.
	if _, err := s.PublishEvents(ctx, []*hookd.Event{{Event: "ASSET_ADDED", Data: json.RawMessage(`{}`)}}); err != nil {
		t.Fatal(err)
	}
	test := &hookd.Event{Event: "ASSET_ADDED", Data: json.RawMessage(`{}`)}
	if err := s.PublishTo(ctx, ids[0], test); err != nil {
		t.Fatal(err)
	}
	var after int64
	if err := s.r.QueryRowContext(ctx, `SELECT after_webhook_id FROM fan_outs WHERE event_id = ? AND webhook_id = ?`,
		test.ID, ids[0]).Scan(&after); err != nil {
		t.Fatalf("the queued PublishTo: %v", err)
	}
	if rest := hookd.AfterWebhook(ids, after); len(rest) != 0 {
		t.Errorf("an earlier version would send the test event to %v", rest)
	}
}
