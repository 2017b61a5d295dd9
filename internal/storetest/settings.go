package storetest

import (
	"testing"
	"time"

	"github.com/hookd/hookd"
)

func testSettings(t *testing.T, open opener) {
	s := open(t)
	w := createWebhook(t, s, newWebhook("w", assetAdded))
	other := createWebhook(t, s, newWebhook("other", assetAdded))

	settings := func(id int64, want hookd.WebhookSettings) {
		t.Helper()
		got, err := s.Settings(ctx(t), id)
		must(t, err, "Settings")
		equal(t, "Settings", got, want)
	}
	// Contract: a new webhook has the defaults, the zero value.
	settings(w.ID, hookd.WebhookSettings{})

	set := hookd.WebhookSettings{MaxInFlight: 3, MaxPerSecond: 0.25}
	must(t, s.UpdateSettings(ctx(t), w.ID, set.Update()), "UpdateSettings")
	settings(w.ID, set)
	settings(other.ID, hookd.WebhookSettings{})

	// The bounds and a rate below one a second survive the round trip.
	limits := hookd.WebhookSettings{MaxInFlight: hookd.MaxInFlightLimit, MaxPerSecond: hookd.MinPerSecond}
	must(t, s.UpdateSettings(ctx(t), w.ID, limits.Update()), "UpdateSettings at the limits")
	settings(w.ID, limits)

	// An update changes only what it gives: one of the others' settings
	// is kept (two admins' updates of different settings both hold).
	filter, ordering, inFlight := `data.n > 1`, hookd.OrderWebhook, 7
	must(t, s.UpdateSettings(ctx(t), w.ID, hookd.SettingsUpdate{Filter: &filter, Ordering: &ordering}), "UpdateSettings filter and ordering")
	must(t, s.UpdateSettings(ctx(t), w.ID, hookd.SettingsUpdate{MaxInFlight: &inFlight}), "UpdateSettings max in flight")
	settings(w.ID, hookd.WebhookSettings{MaxInFlight: 7, MaxPerSecond: hookd.MinPerSecond, Filter: filter, Ordering: ordering})
	must(t, s.UpdateSettings(ctx(t), w.ID, hookd.SettingsUpdate{}), "UpdateSettings of nothing")
	settings(w.ID, hookd.WebhookSettings{MaxInFlight: 7, MaxPerSecond: hookd.MinPerSecond, Filter: filter, Ordering: ordering})

	// WebhookSettings.Update sets them all: a zero field goes back to the
	// default.
	must(t, s.UpdateSettings(ctx(t), w.ID, hookd.WebhookSettings{MaxPerSecond: hookd.MaxPerSecondLimit}.Update()), "UpdateSettings one")
	settings(w.ID, hookd.WebhookSettings{MaxPerSecond: hookd.MaxPerSecondLimit})
	must(t, s.UpdateSettings(ctx(t), w.ID, hookd.WebhookSettings{}.Update()), "UpdateSettings to the defaults")
	settings(w.ID, hookd.WebhookSettings{})

	// Contract: settings are not part of MediaPocket's webhook, whose
	// updated_at they leave alone.
	before := getWebhook(t, s, w.ID)
	s.clock.Advance(time.Minute)
	must(t, s.UpdateSettings(ctx(t), w.ID, set.Update()), "UpdateSettings later")
	checkWebhook(t, getWebhook(t, s, w.ID), before)

	_, err := s.Settings(ctx(t), missingID)
	mustErr(t, err, hookd.ErrNotFound, "Settings(unknown)")
	mustErr(t, s.UpdateSettings(ctx(t), missingID, set.Update()), hookd.ErrNotFound, "UpdateSettings(unknown)")

	// A deleted webhook's settings are gone with it.
	must(t, s.DeleteWebhook(ctx(t), w.ID), "DeleteWebhook")
	_, err = s.Settings(ctx(t), w.ID)
	mustErr(t, err, hookd.ErrNotFound, "Settings(deleted)")
}
