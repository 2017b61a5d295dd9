package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

// testNotifications checks the subscriptions to operational notifications:
// each is stored with the webhook that delivers it, which no event matches,
// and goes with it.
func testNotifications(t *testing.T, open opener) {
	s := open(t)
	n := &hookd.Notification{URL: "https://ops.example.com/hookd", Kinds: []string{hookd.NotifyWebhookDisabled, hookd.NotifyDeliveryFailed}}
	if err := s.CreateNotification(ctx(t), n, "whsec_dGVzdHNlY3JldHRlc3RzZWNyZXR0ZXN0c2VjcmV0"); err != nil {
		t.Fatal(err)
	}
	if n.ID == 0 || n.WebhookID == 0 || !n.CreatedAt.Equal(s.clock.Now()) {
		t.Fatalf("created %+v: want ids and the clock's time", n)
	}
	got, err := s.Notification(ctx(t), n.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.URL != n.URL || !slices.Equal(got.Kinds, n.Kinds) || got.WebhookID != n.WebhookID || got.Disabled {
		t.Fatalf("read %+v, want %+v", got, n)
	}

	// The webhook delivers it: signed with the secret given, matched by no
	// event.
	w, err := s.Webhook(ctx(t), n.WebhookID)
	if err != nil {
		t.Fatal(err)
	}
	if w.HTTPURL != n.URL || len(w.TriggerEvents) != 0 {
		t.Fatalf("its webhook %+v: want the URL and no trigger events", w)
	}
	// The lists are the customers' webhooks: the subscription's is not one.
	customer := newWebhook("customer", assetAdded)
	customer.Disabled = true // so that, below, no event matches a webhook
	createWebhook(t, s, customer)
	listed, err := s.ListWebhooks(ctx(t), hookd.WebhookFilter{})
	must(t, err, "ListWebhooks")
	deepEqual(t, "listed webhooks", webhookIDs(listed), []int64{customer.ID})
	count, err := s.CountWebhooks(ctx(t), hookd.WebhookFilter{})
	must(t, err, "CountWebhooks")
	equal(t, "counted webhooks", count, 1)
	stats, err := s.QueueStats(ctx(t))
	must(t, err, "QueueStats")
	equal(t, "webhooks counted by the stats", stats.EnabledWebhooks+stats.DisabledWebhooks, 1)

	secrets, err := s.Secrets(ctx(t), n.WebhookID)
	if err != nil || secrets[0] != "whsec_dGVzdHNlY3JldHRlc3RzZWNyZXR0ZXN0c2VjcmV0" {
		t.Fatalf("secrets %v, %v", secrets, err)
	}
	for _, name := range hookd.EventNames {
		pub := publish(t, s, newEvent(name, nil, nil))
		if pub[0].Deliveries != 0 {
			t.Fatalf("%s matched the notification's webhook", name)
		}
	}
	if err := s.PublishTo(ctx(t), n.WebhookID, &hookd.Event{Event: hookd.NotifyDeliveryFailed}); err != nil {
		t.Fatal(err)
	}
	if d := claimOne(t, s, s.clock.Now()); d.WebhookID != n.WebhookID || d.Event.Event != hookd.NotifyDeliveryFailed {
		t.Fatalf("claimed %+v, want the notification", d)
	}

	// The URL and the state are its webhook's, and changing them updates
	// it.
	url, off := "https://ops.example.com/other", true
	s.clock.Set(s.clock.Now().Add(time.Minute))
	if _, err := s.UpdateWebhook(ctx(t), n.WebhookID, hookd.WebhookUpdate{HTTPURL: &url, Disabled: &off}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Notification(ctx(t), n.ID); err != nil || !got.UpdatedAt.Equal(s.clock.Now()) {
		t.Fatalf("after its URL changed: %+v, %v; want updated at %s", got, err, s.clock.Now())
	}
	got, err = s.SetNotificationKinds(ctx(t), n.ID, []string{hookd.NotifyCircuitOpened})
	if err != nil {
		t.Fatal(err)
	}
	if got.URL != url || !got.Disabled || !slices.Equal(got.Kinds, []string{hookd.NotifyCircuitOpened}) {
		t.Fatalf("after the updates %+v", got)
	}

	second := &hookd.Notification{URL: "https://ops.example.com/second", Kinds: hookd.NotificationKinds}
	if err := s.CreateNotification(ctx(t), second, ""); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListNotifications(ctx(t))
	if err != nil || len(list) != 2 || list[0].ID != n.ID || list[1].ID != second.ID {
		t.Fatalf("list %v, %v: want both, oldest first", list, err)
	}

	// Deleting its webhook deletes it.
	if err := s.DeleteWebhook(ctx(t), n.WebhookID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Notification(ctx(t), n.ID); !errors.Is(err, hookd.ErrNotFound) {
		t.Fatalf("deleted: %v, want ErrNotFound", err)
	}
	if _, err := s.SetNotificationKinds(ctx(t), n.ID, hookd.NotificationKinds); !errors.Is(err, hookd.ErrNotFound) {
		t.Fatalf("kinds of a deleted one: %v, want ErrNotFound", err)
	}
	if list, _ := s.ListNotifications(ctx(t)); len(list) != 1 {
		t.Fatalf("list after the delete: %v", list)
	}
}
