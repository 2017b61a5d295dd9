package hookd

import (
	"errors"
	"testing"
)

func TestWebhookSettingsShare(t *testing.T) {
	for _, c := range []struct {
		s       WebhookSettings
		workers int
		want    int
	}{
		{WebhookSettings{}, 32, 8},
		{WebhookSettings{}, 8, 2},
		{WebhookSettings{}, 3, 1},
		{WebhookSettings{}, 1, 1},
		{WebhookSettings{MaxInFlight: 20}, 8, 20},
	} {
		if got := c.s.Share(c.workers); got != c.want {
			t.Errorf("%+v.Share(%d) = %d, want %d", c.s, c.workers, got, c.want)
		}
	}
}

func TestWebhookSettingsValidate(t *testing.T) {
	for _, s := range []WebhookSettings{{}, {MaxInFlight: 1}, {MaxInFlight: MaxInFlightLimit}, {MaxPerSecond: MinPerSecond}, {MaxPerSecond: MaxPerSecondLimit}, {Filter: `event == "A"`}} {
		if err := s.Validate(); err != nil {
			t.Errorf("%+v: %v", s, err)
		}
	}
	for _, s := range []WebhookSettings{{MaxInFlight: -1}, {MaxInFlight: MaxInFlightLimit + 1}, {MaxPerSecond: -1}, {MaxPerSecond: 0.0001}, {MaxPerSecond: MaxPerSecondLimit + 1}, {Filter: `event ==`}} {
		if err := s.Validate(); !errors.Is(err, ErrInvalidSettings) {
			t.Errorf("%+v: %v, want ErrInvalidSettings", s, err)
		}
	}
}
