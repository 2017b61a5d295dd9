package hookd

import (
	"errors"
	"testing"
	"time"
)

func TestErasureValidate(t *testing.T) {
	user := int64(7)
	for _, e := range []Erasure{{EventID: "e"}, {ProjectID: "p"}, {UserID: &user}} {
		if err := e.Validate(); err != nil {
			t.Errorf("%+v: %v", e, err)
		}
	}
	for _, e := range []Erasure{{}, {EventID: "e", ProjectID: "p"}, {ProjectID: "p", UserID: &user}} {
		if err := e.Validate(); !errors.Is(err, ErrInvalidErasure) {
			t.Errorf("%+v: %v, want ErrInvalidErasure", e, err)
		}
	}
}

func TestDayPartitions(t *testing.T) {
	got := DayPartitions(time.Date(2026, 6, 10, 23, 59, 0, 0, time.FixedZone("x", -3600)))
	if len(got) != PartitionDaysAhead+1 || !got[0].Equal(time.Date(2026, 6, 11, 0, 0, 0, 0, time.UTC)) ||
		!got[len(got)-1].Equal(time.Date(2026, 6, 11+PartitionDaysAhead, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("DayPartitions: %v", got)
	}
}

func TestEraseChunkLen(t *testing.T) {
	for _, c := range []struct {
		deliveries []int
		limit      int
		want       int
	}{
		{nil, 7, 0},
		{[]int{2, 2, 2}, 7, 2},    // 3 + 3, a third would make 9
		{[]int{2, 3}, 7, 2},       // 3 + 4: exactly the limit
		{[]int{0, 0, 0, 0}, 7, 4}, // all of them, under the limit
		{[]int{20, 1}, 7, 1},      // one event over the limit goes alone
		{[]int{1, 20}, 7, 1},      // and in a chunk of its own
	} {
		if got := EraseChunkLen(c.deliveries, c.limit); got != c.want {
			t.Errorf("EraseChunkLen(%v, %d) = %d, want %d", c.deliveries, c.limit, got, c.want)
		}
	}
}
