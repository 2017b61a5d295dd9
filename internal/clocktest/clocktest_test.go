package clocktest_test

import (
	"testing"
	"time"

	"github.com/hookd/hookd/internal/clocktest"
)

func TestClockMovesOnlyWhenTold(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 678_901_234, time.FixedZone("x", 3600))
	c := clocktest.New(start)
	want := start.UTC().Truncate(time.Millisecond)
	if got := c.Now(); !got.Equal(want) || got.Location() != time.UTC {
		t.Fatalf("Now = %v, want %v in UTC", got, want)
	}
	if got := c.Advance(1500 * time.Microsecond); !got.Equal(want.Add(time.Millisecond)) {
		t.Fatalf("Advance = %v, want %v", got, want.Add(time.Millisecond))
	}
	later := want.Add(time.Hour)
	c.Set(later)
	if got := c.Now(); !got.Equal(later) {
		t.Fatalf("after Set, Now = %v, want %v", got, later)
	}
}
