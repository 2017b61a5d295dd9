package client_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/hookd/hookd/api"
	"github.com/hookd/hookd/client"
)

func TestClientNotifications(t *testing.T) {
	ctx := context.Background()
	admin, publisher := newClients(t)
	n, err := admin.CreateNotification(ctx, api.NewNotification{URL: "https://ops.example.com/hookd"})
	if err != nil {
		t.Fatal(err)
	}
	if len(n.Kinds) != 5 || n.Disabled {
		t.Fatalf("created %+v, want every kind, enabled", n)
	}
	n, err = admin.UpdateNotification(ctx, n.ID, map[string]any{"kinds": []string{"circuit.opened"}, "disabled": true})
	if err != nil || !slices.Equal(n.Kinds, []string{"circuit.opened"}) || !n.Disabled {
		t.Fatalf("updated %+v, %v", n, err)
	}
	if got, err := admin.Notification(ctx, n.ID); err != nil || got.UpdatedAt != n.UpdatedAt {
		t.Fatalf("read %+v, %v", got, err)
	}
	if list, err := admin.Notifications(ctx); err != nil || len(list) != 1 {
		t.Fatalf("list %+v, %v", list, err)
	}
	if secret, err := admin.NotificationSecret(ctx, n.ID); err != nil || !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("secret %q, %v", secret, err)
	}
	for _, success := range []bool{true, false} {
		if log, err := admin.NotificationLog(ctx, n.ID, success, 1, 10); err != nil || len(log) != 0 {
			t.Fatalf("log %v, %v", log, err)
		}
	}
	var apiErr *client.Error
	if _, err := admin.CreateNotification(ctx, api.NewNotification{URL: "https://ops.example.com", Kinds: []string{"nope"}}); !errors.As(err, &apiErr) || apiErr.Status != 422 {
		t.Errorf("bad kind: %v", err)
	}
	if _, err := publisher.Notifications(ctx); !errors.As(err, &apiErr) || apiErr.Status != 401 {
		t.Errorf("publisher: %v", err)
	}
	if err := admin.DeleteNotification(ctx, n.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Notification(ctx, n.ID); !errors.As(err, &apiErr) || apiErr.Status != 404 {
		t.Errorf("deleted: %v", err)
	}
}
