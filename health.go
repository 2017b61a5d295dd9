package hookd

import (
	"slices"
	"time"
)

// Health is what a webhook's recorded attempts say about it. Store.Complete
// reads it, records a batch's attempts with RecordAll and writes it back.
// Results come from several workers in any order, so the Health left does
// not depend on the order in which batches are recorded, with one limit of
// keeping two times only: a failure that joined a streak is forgotten when
// a success between the streak's start and that failure comes in a later
// batch. Within a batch there is no such limit (RecordAll).
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

// RecordedRun is an attempt as Health and Circuit record it: its run,
// whether the receiver asked for the webhook to be disabled (410 Gone),
// and its error class (empty for a success).
type RecordedRun struct {
	Run        Run
	Disable    bool
	ErrorClass string
}

// RecordAll returns h after the attempts runs of one batch, recorded in the
// order they were made (as given for equal times), whatever order they came
// in: a failure, a later success and a later failure leave a streak from
// the last failure.
func (h Health) RecordAll(runs []RecordedRun) Health {
	runs = slices.Clone(runs)
	slices.SortStableFunc(runs, func(a, b RecordedRun) int { return a.Run.At.Compare(b.Run.At) })
	for _, r := range runs {
		h = h.record(r.Run, r.Disable)
	}
	return h
}

// record returns h after the attempt run; disable is the attempt's
// DisableWebhook. A success ends a streak that began at or before it; a
// failure starts a streak (or moves its start earlier) unless a success at
// or after it is already recorded. The latest run is replaced by a later or
// as late one.
func (h Health) record(run Run, disable bool) Health {
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
	// Park: the webhook was disabled. Its pending deliveries that are not
	// in flight wait at ParkedUntil, out of the way of every claim, which
	// would otherwise scan past them at the front of the queue. In flight
	// is leased with a lease that has not ended (ClaimCandidate.InFlight):
	// such a delivery is its worker's, and its lease's end, kept in the
	// same column, must stay. A lease that has ended is nobody's (its
	// worker died, or left it on finding the webhook disabled): its
	// delivery is parked like the others, lease kept, so that a late
	// result from its worker is still recorded.
	Park bool
	// Unpark: the webhook was enabled again. Its parked deliveries, and
	// any other not in flight waiting for a later time, are due now, and
	// its failing streak is forgotten (FailingSince).
	Unpark bool
}

// FailingSince returns the start of the failing streak a webhook keeps
// through the change, was before it: enabled again, it starts afresh, so
// that DisableFailing does not disable it again for failures from before.
func (c DisabledChange) FailingSince(was *time.Time) *time.Time {
	if c.Unpark {
		return nil
	}
	return was
}

// ChangeDisabled returns what turning Disabled from was to is does.
func ChangeDisabled(was, is bool) DisabledChange {
	return DisabledChange{Park: !was && is, Unpark: was && !is}
}

// ParkedUntil is the due time of a disabled webhook's waiting deliveries:
// the latest time both stores keep (9999-12-31T23:59:59.999Z). Beyond those
// that disabling it parks (DisabledChange.Park), whatever else makes one of
// its deliveries due while it is disabled (a retry recorded by
// Store.Complete, an ordered lane's next delivery unblocked, a requeue)
// parks that delivery instead, in the same transaction, from the Disabled
// that the transaction reads: nothing claims it meanwhile, so the delivery
// log and the stats show it parked rather than due, and enabling the
// webhook releases it with the others (DisabledChange.Unpark).
var ParkedUntil = time.Date(9999, 12, 31, 23, 59, 59, 999_000_000, time.UTC)

// ParkIfDisabled is when a delivery queued due at due to a webhook that is
// disabled or not (a PublishTo: the test action, a notification) is due:
// parked (ParkedUntil) while it is disabled, unless it waits in an ordered
// lane, whose next delivery is parked when it heads the lane.
func ParkIfDisabled(due time.Time, disabled, inLane bool) time.Time {
	if disabled && !inLane {
		return ParkedUntil
	}
	return due
}
