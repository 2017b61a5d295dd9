package hookd

import (
	"testing"
	"time"
)

func TestActivityBuckets(t *testing.T) {
	now := time.Date(2026, 11, 30, 13, 42, 30, 0, time.UTC)
	hour := ActivityBuckets(now, time.Minute, HourBuckets)
	if len(hour) != 60 || !hour[0].From.Equal(time.Date(2026, 11, 30, 12, 43, 0, 0, time.UTC)) ||
		!hour[59].From.Equal(time.Date(2026, 11, 30, 13, 42, 0, 0, time.UTC)) || !hour[59].To.After(now) {
		t.Fatalf("the hour's buckets: %v … %v", hour[0], hour[len(hour)-1])
	}
	for i := 1; i < len(hour); i++ {
		if !hour[i].From.Equal(hour[i-1].To) {
			t.Fatalf("bucket %d starts at %v, the one before ends at %v", i, hour[i].From, hour[i-1].To)
		}
	}
	day := ActivityBuckets(now.In(time.FixedZone("+0530", 19800)), time.Hour, DayBuckets)
	if !day[0].From.Equal(time.Date(2026, 11, 29, 14, 0, 0, 0, time.UTC)) || !day[23].From.Equal(time.Date(2026, 11, 30, 13, 0, 0, 0, time.UTC)) {
		t.Errorf("the day's buckets (UTC hours, whatever now's zone): %v … %v", day[0], day[23])
	}

	a := NewActivity(hour, append(make([]AttemptCount, 58), AttemptCount{Succeeded: 3}, AttemptCount{Succeeded: 1, Failed: 2}))
	if a.Succeeded != 4 || a.Failed != 2 || a.Width != time.Minute || !a.From.Equal(hour[0].From) {
		t.Errorf("NewActivity: %+v", a)
	}
	if got := a.PerMinute(now, a.Succeeded); got < 4/59.6 || got > 4/59.4 {
		t.Errorf("PerMinute: %v, want 4 over 59.5 minutes", got)
	}
}
