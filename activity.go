package hookd

import "time"

// AttemptCount is how many attempts ended in the minute that starts at At
// (UTC), as Store.AttemptCounts reads them.
type AttemptCount struct {
	At        time.Time
	Succeeded int
	Failed    int
}

// The activity windows the stats show: the last hour by minute and the last
// day by hour, each ending with the bucket that holds now.
const (
	HourBuckets = 60
	DayBuckets  = 24
)

// ActivitySince is the start of the oldest bucket of the day window at now:
// the counts that Activity needs are those since then.
func ActivitySince(now time.Time) time.Time {
	return now.UTC().Truncate(time.Hour).Add(-(DayBuckets - 1) * time.Hour)
}

// Activity is a window of attempt counts in buckets of Width, the last one
// holding now.
type Activity struct {
	From      time.Time // the start of the first bucket
	Width     time.Duration
	Buckets   []AttemptCount // At is each bucket's start
	Succeeded int            // the totals over the window
	Failed    int
}

// NewActivity sorts per-minute counts into the n buckets of width (a
// multiple of a minute) that end with the one holding now; counts outside
// them are left out.
func NewActivity(now time.Time, width time.Duration, n int, counts []AttemptCount) Activity {
	from := now.UTC().Truncate(width).Add(-time.Duration(n-1) * width)
	a := Activity{From: from, Width: width, Buckets: make([]AttemptCount, n)}
	for i := range a.Buckets {
		a.Buckets[i].At = from.Add(time.Duration(i) * width)
	}
	for _, c := range counts {
		if c.At.Before(from) {
			continue
		}
		i := int(c.At.Sub(from) / width)
		if i >= n {
			continue
		}
		a.Buckets[i].Succeeded += c.Succeeded
		a.Buckets[i].Failed += c.Failed
		a.Succeeded += c.Succeeded
		a.Failed += c.Failed
	}
	return a
}

// PerMinute is n spread over the window's minutes until now.
func (a Activity) PerMinute(now time.Time, n int) float64 {
	minutes := now.Sub(a.From).Minutes()
	if minutes <= 0 {
		return 0
	}
	return float64(n) / minutes
}
