package hookd

import (
	"fmt"
	"testing"
	"time"
)

// attempt is one recorded attempt for the health tests.
type attempt struct {
	at      int // seconds after base
	success bool
	disable bool
}

var base = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

func record(h Health, as ...attempt) Health {
	for _, a := range as {
		h = h.record(Run{At: base.Add(time.Duration(a.at) * time.Second), Success: a.success, HTTPStatus: 200 + a.at, Event: "E"}, a.disable)
	}
	return h
}

func describe(h Health) string {
	show := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return fmt.Sprint(t.Sub(base).Seconds())
	}
	run := "-"
	if h.LatestRun != nil {
		run = fmt.Sprintf("%v/%v/%d", h.LatestRun.At.Sub(base).Seconds(), h.LatestRun.Success, h.LatestRun.HTTPStatus)
	}
	return fmt.Sprintf("failing %s, success %s, run %s, disabled %v", show(h.FailingSince), show(h.LastSuccessAt), run, h.Disabled)
}

func TestHealthRecord(t *testing.T) {
	for _, c := range []struct {
		name     string
		attempts []attempt
		want     string
	}{
		{"nothing", nil, "failing -, success -, run -, disabled false"},
		{"a failure", []attempt{{at: 3}}, "failing 3, success -, run 3/false/203, disabled false"},
		{"failures keep the first", []attempt{{at: 3}, {at: 5}, {at: 1}}, "failing 1, success -, run 5/false/205, disabled false"},
		{"a later success ends the streak", []attempt{{at: 1}, {at: 2, success: true}}, "failing -, success 2, run 2/true/202, disabled false"},
		{"a success at the streak's start ends it", []attempt{{at: 2}, {at: 2, success: true}}, "failing -, success 2, run 2/true/202, disabled false"},
		{"an older success keeps a later streak", []attempt{{at: 3}, {at: 2, success: true}}, "failing 3, success 2, run 3/false/203, disabled false"},
		{"a late failure before a success", []attempt{{at: 5, success: true}, {at: 4}}, "failing -, success 5, run 5/true/205, disabled false"},
		{"a failure after the success", []attempt{{at: 5, success: true}, {at: 6}}, "failing 6, success 5, run 6/false/206, disabled false"},
		// The limit of two fields: the failure at 6 joined the streak from
		// 3, and the success at 4 ends that streak.
		{"a failure inside an ended streak", []attempt{{at: 3}, {at: 6}, {at: 4, success: true}}, "failing -, success 4, run 6/false/206, disabled false"},
		{"410", []attempt{{at: 1, success: true}, {at: 4, disable: true}}, "failing 4, success 1, run 4/false/204, disabled true"},
	} {
		if got := describe(record(Health{}, c.attempts...)); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}

// Contract: results from several workers arrive in any order; the health
// they leave does not depend on it (within the limit Record states).
func TestHealthRecordOrderIndependent(t *testing.T) {
	attempts := []attempt{{at: 2, success: true}, {at: 1, success: true}, {at: 3}, {at: 6}, {at: 4}, {at: 5, disable: true}}
	want := describe(record(Health{}, attempts...))
	var permute func(k int)
	permute = func(k int) {
		if k == len(attempts) {
			if got := describe(record(Health{}, attempts...)); got != want {
				t.Fatalf("order %v: %s, want %s", attempts, got, want)
			}
			return
		}
		for i := k; i < len(attempts); i++ {
			attempts[k], attempts[i] = attempts[i], attempts[k]
			permute(k + 1)
			attempts[k], attempts[i] = attempts[i], attempts[k]
		}
	}
	permute(0)
	if want != "failing 3, success 2, run 6/false/206, disabled true" {
		t.Errorf("health = %s", want)
	}
}

// Contract: the attempts of one batch are recorded in the order they were
// made, so the two-field limit of record does not apply within a batch.
func TestHealthRecordAll(t *testing.T) {
	runs := func(as ...attempt) []RecordedRun {
		out := make([]RecordedRun, len(as))
		for i, a := range as {
			out[i] = RecordedRun{Run: Run{At: base.Add(time.Duration(a.at) * time.Second), Success: a.success, HTTPStatus: 200 + a.at + i}, Disable: a.disable}
		}
		return out
	}
	for _, c := range []struct {
		name string
		runs []RecordedRun
		want string
	}{
		{"a failure after the success that ended a streak", runs(attempt{at: 1}, attempt{at: 3}, attempt{at: 2, success: true}),
			"failing 3, success 2, run 3/false/204, disabled false"},
		{"equal times in the order given", runs(attempt{at: 2}, attempt{at: 2, success: true}),
			"failing -, success 2, run 2/true/203, disabled false"},
		{"equal times in the order given, reversed", runs(attempt{at: 2, success: true}, attempt{at: 2}),
			"failing -, success 2, run 2/false/203, disabled false"},
	} {
		if got := describe(Health{}.RecordAll(c.runs)); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}

func TestFailingBefore(t *testing.T) {
	h := record(Health{}, attempt{at: 10})
	if h.FailingBefore(base.Add(9*time.Second)) || !h.FailingBefore(base.Add(10*time.Second)) {
		t.Error("FailingBefore does not honour its boundary")
	}
	h.Disabled = true
	if h.FailingBefore(base.Add(time.Hour)) {
		t.Error("a disabled webhook is failing before")
	}
}

func TestChangeDisabled(t *testing.T) {
	for _, c := range []struct {
		was, is bool
		want    DisabledChange
	}{
		{false, false, DisabledChange{}},
		{true, true, DisabledChange{}},
		{false, true, DisabledChange{Park: true}},
		{true, false, DisabledChange{Unpark: true}},
	} {
		if got := ChangeDisabled(c.was, c.is); got != c.want {
			t.Errorf("ChangeDisabled(%v, %v) = %+v, want %+v", c.was, c.is, got, c.want)
		}
	}
}

func TestDisabledChangeFailingSince(t *testing.T) {
	since := base
	if got := ChangeDisabled(true, false).FailingSince(&since); got != nil {
		t.Errorf("enabled again: failing since %v, want none", got)
	}
	for _, c := range []DisabledChange{ChangeDisabled(false, true), ChangeDisabled(false, false), ChangeDisabled(true, true)} {
		if got := c.FailingSince(&since); got != &since {
			t.Errorf("%+v: failing since %v, want %v", c, got, since)
		}
	}
}
