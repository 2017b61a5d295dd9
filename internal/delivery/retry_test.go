package delivery

import (
	"net/http"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

func TestParseSchedule(t *testing.T) {
	got, err := ParseSchedule(DefaultScheduleString)
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultSchedule()
	if len(got) != len(want) {
		t.Fatalf("ParseSchedule(default) = %v, want %v", got, want)
	}
	var total time.Duration
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("ParseSchedule(default) = %v, want %v", got, want)
		}
		total += got[i]
	}
	if p := DefaultPolicy(); p.MaxAttempts() != 8 {
		t.Errorf("default attempts = %d, want 8", p.MaxAttempts())
	}
	if total < 27*time.Hour+30*time.Minute || total > 27*time.Hour+40*time.Minute {
		t.Errorf("default schedule spans %s, want about 27.6h", total)
	}
	if got, err := ParseSchedule(" 5s, 1m30s ,2h"); err != nil || len(got) != 3 || got[1] != 90*time.Second {
		t.Errorf("ParseSchedule with spaces = %v, %v", got, err)
	}
	if FormatSchedule([]time.Duration{5 * time.Second, 90 * time.Minute}) != "5s,1h30m0s" {
		t.Error("FormatSchedule")
	}
	for _, bad := range []string{"", "  ", "5s,,5m", "5", "abc", "5s,-1m", "0s", "5s,"} {
		if _, err := ParseSchedule(bad); err == nil {
			t.Errorf("ParseSchedule(%q) succeeded", bad)
		}
	}
}

func TestJitterBounds(t *testing.T) {
	p := DefaultPolicy()
	for attempt := 1; attempt <= len(p.Schedule); attempt++ {
		base := p.Schedule[attempt-1]
		lo, hi := time.Duration(float64(base)*0.8), time.Duration(float64(base)*1.2)
		var below, above bool
		for range 2000 {
			d, ok := p.Delay(attempt)
			if !ok {
				t.Fatalf("attempt %d: no retry", attempt)
			}
			if d < lo || d > hi {
				t.Fatalf("attempt %d: delay %s outside [%s, %s]", attempt, d, lo, hi)
			}
			below = below || d < base-base/10
			above = above || d > base+base/10
		}
		if !below || !above {
			t.Errorf("attempt %d: 2000 delays did not spread on both sides of %s", attempt, base)
		}
	}
	if _, ok := p.Delay(8); ok {
		t.Error("a retry after the 8th attempt")
	}
	if _, ok := p.Delay(0); ok {
		t.Error("a retry after attempt 0")
	}
	exact := &Policy{Schedule: []time.Duration{time.Minute}}
	if d, _ := exact.Delay(1); d != time.Minute {
		t.Errorf("no jitter: delay %s", d)
	}
}

func TestApply(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	p := &Policy{Schedule: []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute}}
	at := func(d time.Duration) *time.Time { t := now.Add(d); return &t }
	cases := []struct {
		name       string
		r          hookd.AttemptResult
		retryAfter time.Duration
		next       *time.Time
		disable    bool
	}{
		{"success", hookd.AttemptResult{Attempt: 1, Success: true, HTTPStatus: 200}, -1, nil, false},
		{"first failure", hookd.AttemptResult{Attempt: 1, HTTPStatus: 500}, -1, at(5 * time.Second), false},
		{"no response", hookd.AttemptResult{Attempt: 2, ErrorClass: hookd.ClassTimeout}, -1, at(5 * time.Minute), false},
		{"third failure", hookd.AttemptResult{Attempt: 3, HTTPStatus: 500}, -1, at(30 * time.Minute), false},
		{"last attempt", hookd.AttemptResult{Attempt: 4, HTTPStatus: 500}, -1, nil, false},
		{"past the last", hookd.AttemptResult{Attempt: 9, HTTPStatus: 500}, -1, nil, false},
		{"410 disables", hookd.AttemptResult{Attempt: 1, HTTPStatus: 410}, -1, nil, true},
		{"429 retry-after", hookd.AttemptResult{Attempt: 1, HTTPStatus: 429}, 2 * time.Minute, at(2 * time.Minute), false},
		{"503 retry-after", hookd.AttemptResult{Attempt: 1, HTTPStatus: 503}, time.Minute, at(time.Minute), false},
		{"retry-after below the schedule", hookd.AttemptResult{Attempt: 2, HTTPStatus: 503}, time.Second, at(5 * time.Minute), false},
		{"retry-after 0", hookd.AttemptResult{Attempt: 1, HTTPStatus: 429}, 0, at(5 * time.Second), false},
		{"retry-after 0 later", hookd.AttemptResult{Attempt: 3, HTTPStatus: 503}, 0, at(30 * time.Minute), false},
		{"retry-after clamped", hookd.AttemptResult{Attempt: 1, HTTPStatus: 429}, 48 * time.Hour, at(30 * time.Minute), false},
		{"retry-after on 500 ignored", hookd.AttemptResult{Attempt: 1, HTTPStatus: 500}, time.Hour, at(5 * time.Second), false},
		{"retry-after on last attempt", hookd.AttemptResult{Attempt: 4, HTTPStatus: 429}, time.Second, nil, false},
	}
	for _, c := range cases {
		r := c.r
		r.DisableWebhook = !c.disable // Apply must set it either way
		p.Apply(&r, c.retryAfter, now)
		switch {
		case (r.NextAttemptAt == nil) != (c.next == nil):
			t.Errorf("%s: next %v, want %v", c.name, r.NextAttemptAt, c.next)
		case c.next != nil && !r.NextAttemptAt.Equal(*c.next):
			t.Errorf("%s: next %v, want %v", c.name, *r.NextAttemptAt, *c.next)
		}
		if r.DisableWebhook != c.disable {
			t.Errorf("%s: disable %v, want %v", c.name, r.DisableWebhook, c.disable)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2015, 10, 21, 7, 0, 0, 0, time.UTC)
	cases := []struct {
		in   string
		d    time.Duration
		okay bool
	}{
		{"120", 2 * time.Minute, true},
		{" 0 ", 0, true},
		{"Wed, 21 Oct 2015 07:28:00 GMT", 28 * time.Minute, true},
		{"Wednesday, 21-Oct-15 07:28:00 GMT", 28 * time.Minute, true}, // RFC 850
		{"Wed Oct 21 07:28:00 2015", 28 * time.Minute, true},          // asctime
		{"Wed, 21 Oct 2015 06:00:00 GMT", 0, true},                    // in the past
		{"99999999999999999999", 0, false},
		{"9999999999999", time.Duration(1<<63 - 1).Truncate(time.Second), true},
		{"-5", 0, false},
		{"1.5", 0, false},
		{"soon", 0, false},
		{"", 0, false},
	}
	for _, c := range cases {
		d, ok := ParseRetryAfter(c.in, now)
		if ok != c.okay || d != c.d {
			t.Errorf("ParseRetryAfter(%q) = %s, %v; want %s, %v", c.in, d, ok, c.d, c.okay)
		}
	}
	if !RetryAfterHonoured(http.StatusTooManyRequests) || !RetryAfterHonoured(http.StatusServiceUnavailable) || RetryAfterHonoured(500) {
		t.Error("RetryAfterHonoured")
	}
}
