package api_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/hookd/hookd/api"
)

// Times are written as MediaPocket writes them, whatever their zone and
// precision, and read back as the same instant.
func TestTime(t *testing.T) {
	for in, want := range map[time.Time]string{
		time.Date(2023, 11, 27, 9, 42, 39, 937_000_000, time.UTC):                     `"2023-11-27T09:42:39.937Z"`,
		time.Date(2023, 11, 27, 9, 42, 39, 0, time.UTC):                               `"2023-11-27T09:42:39.000Z"`,
		time.Date(2023, 11, 27, 10, 42, 39, 930_999_999, time.FixedZone("CET", 3600)): `"2023-11-27T09:42:39.930Z"`,
	} {
		got, err := json.Marshal(api.Time{Time: in})
		if err != nil || string(got) != want {
			t.Errorf("%v: %s, %v; want %s", in, got, err, want)
		}
		var back api.Time
		if err := json.Unmarshal(got, &back); err != nil || !back.Equal(in.Truncate(time.Millisecond)) {
			t.Errorf("%s read back as %v, %v", got, back, err)
		}
	}
	if api.TimeOf(nil) != nil {
		t.Error("TimeOf(nil) is not nil")
	}
	got, _ := json.Marshal(struct{ T *api.Time }{})
	if string(got) != `{"T":null}` {
		t.Errorf("a nil *Time: %s", got)
	}
}
