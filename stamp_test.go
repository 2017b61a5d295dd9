package hookd

import (
	"testing"
	"time"
)

func TestStamps(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)
	given := time.Date(2023, 11, 27, 9, 42, 39, 937_654_321, time.FixedZone("EET", 2*3600))
	stored := time.Date(2023, 11, 27, 7, 42, 39, 937_000_000, time.UTC)
	later := given.Add(time.Hour)

	for _, c := range []struct {
		name                     string
		created, updated         time.Time
		wantCreated, wantUpdated time.Time
	}{
		{"neither given", time.Time{}, time.Time{}, now, now},
		{"created given", given, time.Time{}, stored, stored},
		{"both given", given, later, stored, stored.Add(time.Hour)},
		{"updated given", time.Time{}, later, now, stored.Add(time.Hour)},
	} {
		gotC, gotU := Stamps(c.created, c.updated, now)
		if !gotC.Equal(c.wantCreated) || gotC.Location() != time.UTC || !gotU.Equal(c.wantUpdated) || gotU.Location() != time.UTC {
			t.Errorf("%s: Stamps = %v, %v; want %v, %v (UTC)", c.name, gotC, gotU, c.wantCreated, c.wantUpdated)
		}
	}
}
