package hookd

import "time"

// TimeRange is the times from From, included, to To, excluded.
type TimeRange struct {
	From, To time.Time
}

// AttemptCount is how many attempts ended in a time range, as
// Store.AttemptCounts reads them.
type AttemptCount struct {
	Succeeded int
	Failed    int
}

// The activity windows the stats show: the last hour by minute and the last
// day by hour, each ending with the bucket that holds now.
const (
	HourBuckets = 60
	DayBuckets  = 24
)

// ActivityBuckets are the n buckets of width that end with the one holding
// now, aligned to width (UTC): the time ranges that Store.AttemptCounts
// counts for a window.
func ActivityBuckets(now time.Time, width time.Duration, n int) []TimeRange {
	from := now.UTC().Truncate(width).Add(-time.Duration(n-1) * width)
	out := make([]TimeRange, n)
	for i := range out {
		out[i] = TimeRange{From: from.Add(time.Duration(i) * width), To: from.Add(time.Duration(i+1) * width)}
	}
	return out
}

// Activity is a window of attempt counts in buckets of Width, the last one
// holding now.
type Activity struct {
	From      time.Time // the start of the first bucket
	Width     time.Duration
	Buckets   []AttemptCount
	Succeeded int // the totals over the window
	Failed    int
}

// NewActivity is the window of buckets (ActivityBuckets) with their counts,
// in the same order.
func NewActivity(buckets []TimeRange, counts []AttemptCount) Activity {
	a := Activity{Buckets: counts}
	if len(buckets) > 0 {
		a.From, a.Width = buckets[0].From, buckets[0].To.Sub(buckets[0].From)
	}
	for _, c := range counts {
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
