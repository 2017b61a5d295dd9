package hookd

import (
	"testing"
	"time"
)

func TestDebouncer(t *testing.T) {
	d := Debouncer{Window: time.Hour}
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	steps := []struct {
		kind, subject string
		after         time.Duration // since the start
		ok            bool
		heldBack      int
	}{
		{NotifyDeliveryFailed, "1", 0, true, 0},
		{NotifyDeliveryFailed, "1", time.Minute, false, 0},
		{NotifyDeliveryFailed, "2", time.Minute, true, 0}, // another webhook
		{NotifyCircuitOpened, "1", time.Minute, true, 0},  // another kind
		{NotifyDeliveryFailed, "1", 59 * time.Minute, false, 0},
		{NotifyDeliveryFailed, "1", time.Hour, true, 2},     // the window is over: two held back
		{NotifyDeliveryFailed, "1", 3 * time.Hour, true, 0}, // nothing held back since
	}
	for i, s := range steps {
		held, ok := d.Allow(s.kind, s.subject, at.Add(s.after))
		if ok != s.ok || held != s.heldBack {
			t.Errorf("step %d (%s %s at +%s): %d, %v; want %d, %v", i, s.kind, s.subject, s.after, held, ok, s.heldBack, s.ok)
		}
	}
	if n := len(d.last); n > 3 {
		t.Errorf("%d entries kept, want those of the last window only", n)
	}
	none := Debouncer{}
	for range 3 {
		if _, ok := none.Allow(NotifyDeliveryFailed, "1", at); !ok {
			t.Fatal("a zero window held a notification back")
		}
	}
}

func TestCheckNotificationKinds(t *testing.T) {
	if err := CheckNotificationKinds(NotificationKinds); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]string{nil, {}, {"webhook.disabled", "webhook.disabled"}, {"ASSET_ADDED"}} {
		if err := CheckNotificationKinds(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
