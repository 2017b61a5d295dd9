package hookd

import "time"

// Health is what a webhook's recorded attempts say about it. Store.Complete
// reads it, applies Record for each attempt and writes it back; results
// come from several workers in any order, so Record gives the same Health
// whatever order the attempts are recorded in, with one limit of keeping
// two times only: a failure that joined a streak is forgotten when a
// success between the streak's start and that failure is recorded after it.
type Health struct {
	// FailingSince is the first failed attempt after the latest success;
	// nil when the latest attempt succeeded (or none was made).
	// DisableFailing reads it.
	FailingSince *time.Time
	// LastSuccessAt is the latest success ever recorded: a failure
	// recorded late (before it in time) does not start a streak.
	LastSuccessAt *time.Time
	// LatestRun is the attempt made last (not the one recorded last).
	LatestRun *Run
	Disabled  bool
}

// Record returns h after the attempt run; disable is the attempt's
// DisableWebhook (the receiver answered 410 Gone). A success ends a streak
// that began at or before it; a failure starts a streak (or moves its start
// earlier) unless a success at or after it is already recorded. The latest
// run is replaced by a later or as late one.
func (h Health) Record(run Run, disable bool) Health {
	at := run.At
	switch {
	case run.Success:
		if h.FailingSince != nil && !h.FailingSince.After(at) {
			h.FailingSince = nil
		}
		if h.LastSuccessAt == nil || h.LastSuccessAt.Before(at) {
			h.LastSuccessAt = &at
		}
	case h.LastSuccessAt != nil && !h.LastSuccessAt.Before(at):
		// a later success already ended this failure's streak
	case h.FailingSince == nil || at.Before(*h.FailingSince):
		h.FailingSince = &at
	}
	if h.LatestRun == nil || !h.LatestRun.At.After(at) {
		h.LatestRun = &run
	}
	h.Disabled = h.Disabled || disable
	return h
}

// FailingBefore reports whether DisableFailing(before) disables a webhook
// in this state: enabled, and failing since before or earlier.
func (h Health) FailingBefore(before time.Time) bool {
	return !h.Disabled && h.FailingSince != nil && !h.FailingSince.After(before)
}

// DisabledChange is what turning a webhook's Disabled from was to is does
// beyond the flag, whichever way it happens (the API, a 410 Gone answer,
// DisableFailing). Stores apply it in the transaction that changes the
// flag.
type DisabledChange struct {
	// Park: the webhook was disabled. Its idle pending deliveries (not
	// leased: a lease's end is kept in the same column) wait at
	// ParkedUntil, out of the way of every claim, which would otherwise
	// scan past them at the front of the queue.
	Park bool
	// Unpark: the webhook was enabled again. Its parked deliveries are due
	// now, and its failing streak is forgotten, so that DisableFailing
	// does not disable it again for failures from before.
	Unpark bool
}

// ChangeDisabled returns what turning Disabled from was to is does.
func ChangeDisabled(was, is bool) DisabledChange {
	return DisabledChange{Park: !was && is, Unpark: was && !is}
}

// ParkedUntil is the due time of a disabled webhook's waiting deliveries:
// the latest time both stores keep (9999-12-31T23:59:59.999Z).
var ParkedUntil = time.Date(9999, 12, 31, 23, 59, 59, 999_000_000, time.UTC)
