package delivery

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hookd/hookd"
)

// DefaultScheduleString is the default retry schedule in --retry-schedule
// form: the delays after the first, second, ... failed attempt.
const DefaultScheduleString = "5s,5m,30m,2h,5h,10h,10h"

// DefaultJitter is the jitter of every scheduled delay: ±20 %.
const DefaultJitter = 0.2

// DefaultSchedule returns the default retry schedule: 5 s, 5 min, 30 min,
// 2 h, 5 h, 10 h, 10 h, so 8 attempts over about 27.6 hours.
func DefaultSchedule() []time.Duration {
	return []time.Duration{
		5 * time.Second, 5 * time.Minute, 30 * time.Minute,
		2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour,
	}
}

// ParseSchedule parses a retry schedule: comma-separated Go durations, each
// positive ("5s,5m,30m"). Spaces around items are ignored; an empty schedule
// is an error.
func ParseSchedule(s string) ([]time.Duration, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("retry schedule: empty")
	}
	var out []time.Duration
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		d, err := time.ParseDuration(item)
		if err != nil {
			return nil, fmt.Errorf("retry schedule: %q is not a duration like 5s, 5m or 2h", item)
		}
		if d <= 0 {
			return nil, fmt.Errorf("retry schedule: %q is not positive", item)
		}
		out = append(out, d)
	}
	return out, nil
}

// Policy decides whether and when a failed attempt is retried.
type Policy struct {
	// Schedule holds the delay after each failed attempt: Schedule[0] after
	// the first, and so on; a delivery gets len(Schedule)+1 attempts.
	Schedule []time.Duration
	// Jitter spreads each scheduled delay uniformly over ±Jitter of it
	// (0.2 for ±20 %); 0 disables it.
	Jitter float64
}

// NewPolicy returns a policy of schedule with DefaultJitter.
func NewPolicy(schedule []time.Duration) *Policy {
	return &Policy{Schedule: append([]time.Duration(nil), schedule...), Jitter: DefaultJitter}
}

// DefaultPolicy returns NewPolicy(DefaultSchedule()).
func DefaultPolicy() *Policy { return NewPolicy(DefaultSchedule()) }

// maxStep is the longest delay of the schedule.
func (p *Policy) maxStep() time.Duration {
	var m time.Duration
	for _, d := range p.Schedule {
		m = max(m, d)
	}
	return m
}

// Delay returns the jittered delay before the retry that follows failed
// attempt number attempt (1-based), and false when that attempt was the last.
func (p *Policy) Delay(attempt int) (time.Duration, bool) {
	if attempt < 1 || attempt > len(p.Schedule) {
		return 0, false
	}
	d := p.Schedule[attempt-1]
	if p.Jitter > 0 {
		// Uniform in [d·(1-j), d·(1+j)).
		f := 1 + p.Jitter*(2*rand.Float64()-1)
		d = time.Duration(float64(d) * f)
	}
	return d, true
}

// RetryAfterHonoured reports whether a Retry-After header on a response of
// this status is honoured: 429 Too Many Requests and 503 Service Unavailable.
func RetryAfterHonoured(status int) bool {
	return status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable
}

// Apply decides what follows the attempt r records: the dispatcher calls it
// between the Sender's attempt and recording the result. It fills
// r.NextAttemptAt and r.DisableWebhook from the outcome in r:
//
//   - a success, or the last attempt of the schedule, ends the delivery
//     (NextAttemptAt nil);
//   - 410 Gone ends it and disables the webhook;
//   - any other failure is retried after the scheduled, jittered delay;
//     when the response was 429 or 503 and retryAfter >= 0
//     (Outcome.RetryAfter, the parsed Retry-After header; -1 when there was
//     none), retryAfter is a floor over that delay, itself capped at the
//     longest delay of the schedule: the retry waits at least retryAfter
//     (up to that cap) and never less than scheduled, so a Retry-After of
//     0 or a past date does not burn the attempts.
//
// end is the instant the delay counts from: the end of the attempt on the
// dispatcher's clock (Outcome.End), which retryAfter counts from too.
func (p *Policy) Apply(r *hookd.AttemptResult, retryAfter time.Duration, end time.Time) {
	r.NextAttemptAt = nil
	r.DisableWebhook = false
	if r.Success {
		return
	}
	if r.HTTPStatus == http.StatusGone {
		r.DisableWebhook = true
		return
	}
	d, ok := p.Delay(r.Attempt)
	if !ok {
		return
	}
	if retryAfter >= 0 && RetryAfterHonoured(r.HTTPStatus) {
		d = max(d, min(retryAfter, p.maxStep()))
	}
	next := end.Add(d).UTC().Truncate(time.Millisecond)
	r.NextAttemptAt = &next
}

// ParseRetryAfter parses a Retry-After header value: delay-seconds
// ("120") or an HTTP date ("Wed, 21 Oct 2015 07:28:00 GMT"), read relative
// to now. A date in the past gives 0. It returns false when v is neither.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		const maxSeconds = int64((1<<63 - 1) / time.Second)
		return time.Duration(min(n, maxSeconds)) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}
