package hookd

import (
	"errors"
	"fmt"
)

// WebhookSettings are hookd's own settings of one webhook, kept beside
// MediaPocket's webhook object (the API's settings sub-resource), never in
// it. A zero value means the default.
type WebhookSettings struct {
	// MaxInFlight caps the attempts to the webhook at once, across every
	// process that shares the database; 0 is DefaultShare of the process's
	// workers. Within it, the dispatcher lets a webhook have as many as its
	// receiver has shown it can take (its window: internal/delivery's
	// windows).
	MaxInFlight int
	// MaxPerSecond caps the rate of attempts to the webhook, across every
	// process; 0 is no cap.
	MaxPerSecond float64
	// Filter is the webhook's payload filter (filter.go): a CEL expression
	// an event must make true to be delivered to it; "" for none.
	Filter string
	// Ordering puts the webhook's deliveries in ordered lanes (see
	// Ordering); Unordered is the default.
	Ordering Ordering
}

// Bounds of WebhookSettings.
const (
	MaxInFlightLimit  = 1000
	MaxPerSecondLimit = 10000
	// MinPerSecond is the slowest throttle: one attempt every 1000 s.
	MinPerSecond = 0.001
)

// ErrInvalidSettings is wrapped by Validate's errors.
var ErrInvalidSettings = errors.New("invalid settings")

// SettingsUpdate changes some of a webhook's settings: a nil field keeps
// the webhook's own, so that concurrent updates of different settings
// (the API's partial PUT) both hold.
type SettingsUpdate struct {
	MaxInFlight  *int
	MaxPerSecond *float64
	Filter       *string
	Ordering     *Ordering
}

// Update returns the SettingsUpdate that sets every setting to s's.
func (s WebhookSettings) Update() SettingsUpdate {
	return SettingsUpdate{MaxInFlight: &s.MaxInFlight, MaxPerSecond: &s.MaxPerSecond, Filter: &s.Filter, Ordering: &s.Ordering}
}

// Values returns the settings u sets, and zeros for those it keeps.
func (u SettingsUpdate) Values() WebhookSettings {
	var s WebhookSettings
	if u.MaxInFlight != nil {
		s.MaxInFlight = *u.MaxInFlight
	}
	if u.MaxPerSecond != nil {
		s.MaxPerSecond = *u.MaxPerSecond
	}
	if u.Filter != nil {
		s.Filter = *u.Filter
	}
	if u.Ordering != nil {
		s.Ordering = *u.Ordering
	}
	return s
}

// Unorders reports whether u leaves the webhook unordered, which releases
// its blocked deliveries (Ordering).
func (u SettingsUpdate) Unorders() bool { return u.Ordering != nil && *u.Ordering == Unordered }

// Validate reports whether s is within the bounds.
func (s WebhookSettings) Validate() error {
	switch {
	case s.MaxInFlight < 0 || s.MaxInFlight > MaxInFlightLimit:
		return ErrInvalidSettings
	case s.MaxPerSecond < 0 || s.MaxPerSecond > MaxPerSecondLimit || (s.MaxPerSecond > 0 && s.MaxPerSecond < MinPerSecond):
		return ErrInvalidSettings
	}
	if s.Filter != "" {
		if _, err := CompileFilter(s.Filter); err != nil {
			return fmt.Errorf("%w: filter: %w", ErrInvalidSettings, err)
		}
	}
	return s.Ordering.Validate()
}

// DefaultShare is how many attempts a webhook without MaxInFlight may have
// at once when the process runs workers attempts at once: a quarter, at
// least one, so that no webhook holds more than a quarter of the workers
// (the windows within it keep receivers that hang to far fewer).
func DefaultShare(workers int) int { return max(1, workers/4) }

// Share is the webhook's cap on attempts at once, for a process of workers.
func (s WebhookSettings) Share(workers int) int {
	if s.MaxInFlight > 0 {
		return s.MaxInFlight
	}
	return DefaultShare(workers)
}
