package hookd

import "time"

// Stamp is t at the precision hookd stores (UTC, milliseconds), or now when
// t is zero: a caller may give a record its time (imports, tests, an
// attempt's start) or leave it to the store, which passes its clock's now.
func Stamp(t, now time.Time) time.Time {
	if t.IsZero() {
		return now
	}
	return t.UTC().Truncate(time.Millisecond)
}

// Stamps returns a new record's creation and update times: created (or now
// when zero), and updated (or the creation time when zero).
func Stamps(created, updated, now time.Time) (time.Time, time.Time) {
	c := Stamp(created, now)
	return c, Stamp(updated, c)
}
