package hookd

import (
	"fmt"
	"reflect"
	"testing"
	"time"
)

func TestCircuitClaimable(t *testing.T) {
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	later, earlier := now.Add(time.Second), now.Add(-time.Second)
	lease := 20 * time.Second
	for _, c := range []struct {
		name  string
		in    Circuit
		n     int
		state CircuitState
	}{
		{"closed", Circuit{State: CircuitClosed}, -1, CircuitClosed},
		{"zero value", Circuit{}, -1, ""},
		{"open, cooling down", Circuit{State: CircuitOpen, ProbeAt: &later}, 0, CircuitOpen},
		{"open, cool-down over", Circuit{State: CircuitOpen, ProbeAt: &earlier}, 1, CircuitHalfOpen},
		{"open at now", Circuit{State: CircuitOpen, ProbeAt: &now}, 1, CircuitHalfOpen},
		{"probe out", Circuit{State: CircuitHalfOpen, ProbeAt: &later}, 0, CircuitHalfOpen},
		{"probe lost", Circuit{State: CircuitHalfOpen, ProbeAt: &earlier}, 1, CircuitHalfOpen},
	} {
		n, out := c.in.Claimable(now, lease)
		if n != c.n || out.State != c.state {
			t.Errorf("%s: Claimable = %d, %s; want %d, %s", c.name, n, out.State, c.n, c.state)
		}
		if n == 1 && !out.ProbeAt.Equal(now.Add(lease)) {
			t.Errorf("%s: probe until %v, want %v", c.name, out.ProbeAt, now.Add(lease))
		}
	}
}

func TestCircuitEffectOf(t *testing.T) {
	for _, c := range []struct {
		success bool
		status  int
		class   string
		want    CircuitEffect
	}{
		{true, 200, "", CircuitAnswered},
		{false, 400, ClassStatus, CircuitAnswered},
		{false, 404, ClassStatus, CircuitAnswered},
		{false, 410, ClassGone, CircuitAnswered},
		{false, 302, ClassRedirect, CircuitAnswered},
		{false, 408, ClassStatus, CircuitCounts},
		{false, 429, ClassStatus, CircuitCounts},
		{false, 500, ClassStatus, CircuitCounts},
		{false, 503, ClassStatus, CircuitCounts},
		{false, 0, ClassTimeout, CircuitCounts},
		{false, 0, ClassRefused, CircuitCounts},
		{false, 0, ClassReset, CircuitCounts},
		{false, 0, ClassConnection, CircuitCounts},
		{false, 0, ClassDNS, CircuitCounts},
		{false, 0, ClassTLS, CircuitCounts},
		{false, 200, ClassTooLarge, CircuitCounts},
		{false, 101, ClassInformational, CircuitCounts},
		{false, 0, "a_class_added_later", CircuitCounts},
		{false, 0, ClassForbidden, CircuitIgnores},
		{false, 0, ClassInternal, CircuitIgnores},
	} {
		if got := CircuitEffectOf(c.success, c.status, c.class); got != c.want {
			t.Errorf("CircuitEffectOf(%v, %d, %q) = %d, want %d", c.success, c.status, c.class, got, c.want)
		}
	}
}

func TestCircuitRecord(t *testing.T) {
	p := CircuitPolicy{Failures: 3, Cooldown: 30 * time.Second, MaxCooldown: 100 * time.Second}
	t0 := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	sec := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Second) }
	ptr := func(t time.Time) *time.Time { return &t }
	fail := func(at int) RecordedRun {
		return RecordedRun{Run: Run{At: sec(at), HTTPStatus: 503}, ErrorClass: ClassStatus}
	}
	timeout := func(at int) RecordedRun { return RecordedRun{Run: Run{At: sec(at)}, ErrorClass: ClassTimeout} }
	ok := func(at int) RecordedRun { return RecordedRun{Run: Run{At: sec(at), Success: true, HTTPStatus: 200}} }
	notFound := func(at int) RecordedRun {
		return RecordedRun{Run: Run{At: sec(at), HTTPStatus: 404}, ErrorClass: ClassStatus}
	}
	internal := func(at int) RecordedRun { return RecordedRun{Run: Run{At: sec(at)}, ErrorClass: ClassInternal} }
	open := func(opens int, opened, probe int) Circuit {
		return Circuit{State: CircuitOpen, Failures: 3, Opens: opens, OpenedAt: ptr(sec(opened)), ProbeAt: ptr(sec(probe))}
	}
	halfOpen := func(c Circuit, until int) Circuit {
		c.State, c.ProbeAt = CircuitHalfOpen, ptr(sec(until))
		return c
	}
	closed := Circuit{State: CircuitClosed}
	for _, c := range []struct {
		name string
		in   Circuit
		runs []RecordedRun
		now  int
		want Circuit
	}{
		{"failures below the threshold", closed, []RecordedRun{fail(1), timeout(2)}, 10,
			Circuit{State: CircuitClosed, Failures: 2}},
		{"the threshold opens for the cool-down", closed, []RecordedRun{fail(1), timeout(2), fail(3)}, 10,
			open(1, 10, 40)},
		{"a success resets the run", closed, []RecordedRun{fail(1), fail(2), ok(3), fail(4)}, 10,
			Circuit{State: CircuitClosed, Failures: 1, AnsweredAt: ptr(sec(3))}},
		{"a 4xx is an answer: it does not count and resets", closed, []RecordedRun{fail(1), fail(2), notFound(3), notFound(4)}, 10,
			Circuit{State: CircuitClosed, AnsweredAt: ptr(sec(4))}},
		{"hookd's own failure is ignored", closed, []RecordedRun{fail(1), internal(2), fail(3)}, 10,
			Circuit{State: CircuitClosed, Failures: 2}},
		{"in time order, whatever the order given", closed, []RecordedRun{fail(4), ok(3), fail(1), fail(2)}, 10,
			Circuit{State: CircuitClosed, Failures: 1, AnsweredAt: ptr(sec(3))}},
		{"a failure begun before the latest answer does not count",
			Circuit{State: CircuitClosed, Failures: 2, AnsweredAt: ptr(sec(5))}, []RecordedRun{fail(4)}, 10,
			Circuit{State: CircuitClosed, Failures: 2, AnsweredAt: ptr(sec(5))}},
		{"an answer older than the latest one changes nothing",
			Circuit{State: CircuitClosed, Failures: 2, AnsweredAt: ptr(sec(5))}, []RecordedRun{ok(4)}, 10,
			Circuit{State: CircuitClosed, Failures: 2, AnsweredAt: ptr(sec(5))}},
		{"failures while open change nothing", open(1, 10, 40), []RecordedRun{fail(11), fail(12)}, 20,
			open(1, 10, 40)},
		{"a late success from before the open is ignored", open(1, 10, 40), []RecordedRun{ok(9)}, 20,
			open(1, 10, 40)},
		{"the probe's success closes", halfOpen(open(2, 10, 70), 90), []RecordedRun{ok(70)}, 71,
			Circuit{State: CircuitClosed, AnsweredAt: ptr(sec(70))}},
		{"the probe's 4xx closes", halfOpen(open(2, 10, 70), 90), []RecordedRun{notFound(70)}, 71,
			Circuit{State: CircuitClosed, AnsweredAt: ptr(sec(70))}},
		{"the probe's failure reopens, twice as long", halfOpen(open(1, 10, 40), 60), []RecordedRun{timeout(40)}, 55,
			open(2, 55, 115)},
		{"the cool-down stops at the maximum", halfOpen(open(2, 10, 70), 90), []RecordedRun{fail(70)}, 71,
			open(3, 71, 171)},
		{"a late failure from before the open does not reopen", halfOpen(open(1, 10, 40), 60), []RecordedRun{fail(5)}, 45,
			halfOpen(open(1, 10, 40), 60)},
	} {
		if got := c.in.RecordAll(p, c.runs, sec(c.now)); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %s, want %s", c.name, show(got), show(c.want))
		}
	}
}

func TestCircuitNeverOpens(t *testing.T) {
	p := CircuitPolicy{Failures: 0, Cooldown: time.Second, MaxCooldown: time.Second}
	c, at := Circuit{State: CircuitClosed}, time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	for i := range 100 {
		c = c.Record(p, RecordedRun{Run: Run{At: at.Add(time.Duration(i) * time.Second)}, ErrorClass: ClassTimeout}, at)
	}
	if c.State != CircuitClosed || c.Failures != 100 {
		t.Errorf("after 100 timeouts with Failures 0: %s, want closed with 100 failures", show(c))
	}
}

func show(c Circuit) string {
	s := fmt.Sprintf("{%s failures=%d opens=%d", c.State, c.Failures, c.Opens)
	for _, f := range []struct {
		name string
		t    *time.Time
	}{{"opened", c.OpenedAt}, {"probe", c.ProbeAt}, {"answered", c.AnsweredAt}} {
		if f.t != nil {
			s += fmt.Sprintf(" %s=%s", f.name, f.t.Format(time.TimeOnly))
		}
	}
	return s + "}"
}

func TestCircuitPolicyValidate(t *testing.T) {
	if err := DefaultCircuitPolicy.Validate(); err != nil {
		t.Errorf("the default policy: %v", err)
	}
	for _, p := range []CircuitPolicy{
		{Failures: -1, Cooldown: time.Minute, MaxCooldown: time.Minute},
		{Failures: 5, Cooldown: 0, MaxCooldown: time.Minute},
		{Failures: 5, Cooldown: time.Minute, MaxCooldown: time.Second},
	} {
		if p.Validate() == nil {
			t.Errorf("%+v: valid, want an error", p)
		}
	}
}

func TestCircuitProbeNow(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)
	later, earlier := now.Add(time.Minute), now.Add(-time.Second)
	for _, tc := range []struct {
		name string
		c    Circuit
		want bool
	}{
		{"closed", Circuit{State: CircuitClosed}, false},
		{"open, probe later", Circuit{State: CircuitOpen, ProbeAt: &later}, true},
		{"open, probe due", Circuit{State: CircuitOpen, ProbeAt: &earlier}, false},
		{"half open", Circuit{State: CircuitHalfOpen, ProbeAt: &later}, false},
	} {
		got, ok := tc.c.ProbeNow(now)
		if ok != tc.want {
			t.Errorf("%s: ProbeNow = %v, want %v", tc.name, ok, tc.want)
		}
		if ok && (got.ProbeAt == nil || !got.ProbeAt.Equal(now) || got.State != CircuitOpen) {
			t.Errorf("%s: %+v, want open with its probe now", tc.name, got)
		}
		if !ok && got.ProbeAt != tc.c.ProbeAt {
			t.Errorf("%s: changed to %+v", tc.name, got)
		}
	}
}
