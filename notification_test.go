package hookd

import (
	"slices"
	"testing"
	"time"
)

func TestDebouncer(t *testing.T) {
	d := Debouncer[string]{Window: time.Hour}
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	type due struct {
		after time.Duration // since the start
		notes []Held[string]
	}
	steps := []struct {
		kind, subject string
		after         time.Duration // since the start
		ok            bool
		heldBack      int
		due           *due // then Due at this time
	}{
		{kind: NotifyDeliveryFailed, subject: "1", ok: true},
		{kind: NotifyDeliveryFailed, subject: "1", after: time.Minute},
		{kind: NotifyDeliveryFailed, subject: "2", after: time.Minute, ok: true},  // another webhook
		{kind: NotifyWebhookDisabled, subject: "1", after: time.Minute, ok: true}, // another kind
		{kind: NotifyDeliveryFailed, subject: "1", after: 59 * time.Minute,
			due: &due{59 * time.Minute, nil}}, // the window is not over
		// The window is over: the latest held back goes out, and says how
		// many others were held back.
		{kind: NotifyDeliveryFailed, subject: "2", after: time.Hour + time.Minute, ok: true,
			due: &due{time.Hour, []Held[string]{{"delivery.failed 1 +59m0s", 1}}}},
		// It opened the next window.
		{kind: NotifyDeliveryFailed, subject: "1", after: time.Hour + time.Minute},
		// A newer one at the window's end goes out itself, and counts the
		// one held back that Due did not let out.
		{kind: NotifyDeliveryFailed, subject: "1", after: 2 * time.Hour, ok: true, heldBack: 1,
			due: &due{3 * time.Hour, nil}},

		// A circuit: a change of state goes out at once, the same state
		// again is only counted.
		{kind: NotifyCircuitOpened, subject: "1", after: 3 * time.Hour, ok: true},
		{kind: NotifyCircuitClosed, subject: "1", after: 3*time.Hour + time.Minute, ok: true},
		// It flaps: opened went out within the window, so the next
		// opened waits for its window's end, closed is known, and the
		// latest state goes out then.
		{kind: NotifyCircuitOpened, subject: "1", after: 3*time.Hour + 2*time.Minute},
		{kind: NotifyCircuitClosed, subject: "1", after: 3*time.Hour + 3*time.Minute},
		{kind: NotifyCircuitOpened, subject: "1", after: 3*time.Hour + 4*time.Minute,
			due: &due{4 * time.Hour, []Held[string]{{"circuit.opened 1 +3h4m0s", 2}}}},
		// It closes: another state, whose window is over.
		{kind: NotifyCircuitClosed, subject: "1", after: 4*time.Hour + time.Minute, ok: true},
		// It opens and closes again within opened's window: the operator
		// knows it is closed; only counted, told with the next.
		{kind: NotifyCircuitOpened, subject: "1", after: 4*time.Hour + 2*time.Minute},
		{kind: NotifyCircuitClosed, subject: "1", after: 4*time.Hour + 3*time.Minute,
			due: &due{6 * time.Hour, nil}},
		// What it counted went with its windows.
		{kind: NotifyCircuitOpened, subject: "1", after: 6 * time.Hour, ok: true},
		{kind: NotifyCircuitOpened, subject: "1", after: 6*time.Hour + time.Minute}, // known
		// Beyond the window, the same state goes out again: another process
		// may have told another since.
		{kind: NotifyCircuitOpened, subject: "1", after: 7*time.Hour + time.Minute, ok: true, heldBack: 1},
	}
	for i, s := range steps {
		note := s.kind + " " + s.subject + " +" + s.after.String()
		held, ok := d.Tell(s.kind, s.subject, note, at.Add(s.after))
		if ok != s.ok || held != s.heldBack {
			t.Errorf("step %d (%s): %d, %v; want %d, %v", i, note, held, ok, s.heldBack, s.ok)
		}
		if s.due != nil {
			if got := d.Due(at.Add(s.due.after)); !slices.Equal(got, s.due.notes) {
				t.Errorf("step %d: due at +%s: %v, want %v", i, s.due.after, got, s.due.notes)
			}
		}
	}
	d.Due(at.Add(100 * time.Hour))
	if n := len(d.subjects); n != 0 {
		t.Errorf("%d subjects kept after every window, want none", n)
	}
	none := Debouncer[string]{}
	for range 3 {
		if _, ok := none.Tell(NotifyDeliveryFailed, "1", "", at); !ok {
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
