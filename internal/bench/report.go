package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/hookd/hookd"
)

// Report is the outcome of one bench run (--json prints it as it is).
type Report struct {
	Database     string `json:"database"`                // sqlite or postgres
	Mode         string `json:"mode"`                    // full-speed, rate or backlog
	Webhooks     int    `json:"webhooks"`                // fan-out: every event matches every webhook
	IdleWebhooks int    `json:"idle_webhooks,omitempty"` // webhooks that match no event
	// Filtered is how many more webhooks are subscribed to every event
	// with a payload filter that no event passes (--filtered).
	Filtered      int     `json:"filtered_webhooks,omitempty"`
	Events        int     `json:"events"`
	Expected      int64   `json:"expected_deliveries"`
	Batch         int     `json:"batch"` // events a publish request (1: POST /events)
	Rate          float64 `json:"rate,omitempty"`
	Concurrency   int     `json:"concurrency"`
	Timeout       string  `json:"timeout"` // of one attempt
	FailRate      float64 `json:"fail_rate,omitempty"`
	RetrySchedule string  `json:"retry_schedule"`

	Accepted        int64   `json:"accepted_events"`
	PublishP50      float64 `json:"publish_request_p50_ms"`
	PublishP99      float64 `json:"publish_request_p99_ms"`
	PublishMax      float64 `json:"publish_request_max_ms"`
	IntakeSeconds   float64 `json:"intake_seconds"`
	EventsPerSecond float64 `json:"accepted_events_per_second"`

	Delivered           int64   `json:"delivered"`
	DeliverySeconds     float64 `json:"delivery_seconds"`
	DeliveriesPerSecond float64 `json:"delivered_per_second"`
	P50                 float64 `json:"latency_p50_ms"`
	P90                 float64 `json:"latency_p90_ms"`
	P99                 float64 `json:"latency_p99_ms"`
	Max                 float64 `json:"latency_max_ms"`
	Duplicates          int64   `json:"duplicates"`
	Missing             int64   `json:"missing"`
	Attempts            int64   `json:"attempts"`
	Retried             int64   `json:"retried"`         // failed attempts followed by another attempt
	FailedForGood       int64   `json:"failed_for_good"` // deliveries whose last attempt failed (fail rate)
	Lost                int64   `json:"lost"`            // neither delivered nor failed for good
	Pending             int64   `json:"pending"`         // still queued when a bounded run stopped

	// The raw-client limit, measured before hookd starts and after it
	// stops; RawPerSecond, their mean, is what RawRatio compares with.
	RawBefore    float64 `json:"raw_client_before_per_second,omitempty"`
	RawAfter     float64 `json:"raw_client_after_per_second,omitempty"`
	RawPerSecond float64 `json:"raw_client_per_second,omitempty"`
	RawRatio     float64 `json:"ratio_to_raw,omitempty"`

	PeakRSSMB           float64 `json:"peak_rss_mb"`
	CPUSeconds          float64 `json:"cpu_seconds"`
	ReceiverCPUSeconds  float64 `json:"receiver_cpu_seconds"`
	PublisherCPUSeconds float64 `json:"publisher_cpu_seconds"`

	Claims         int64   `json:"claims"`
	AvgClaim       float64 `json:"avg_claimed"`
	Completes      int64   `json:"completes"`
	AvgComplete    float64 `json:"avg_completed"`
	Publishes      int64   `json:"publishes"`
	HandedOff      int64   `json:"handed_off"`
	StoreCallsPerD float64 `json:"store_calls_per_delivery"`
	// The mean wall time of a claim, a Complete and a publish (one
	// transaction of group commit): the claimer and the completer each
	// make one call at a time, so a mean times the calls near the run's
	// length names the loop that bounds it.
	ClaimMS       float64 `json:"claim_ms"`
	CompleteMS    float64 `json:"complete_ms"`
	PublishMS     float64 `json:"publish_ms"`
	DBXactsPerD   float64 `json:"db_transactions_per_delivery,omitempty"`
	GOMAXPROCS    int     `json:"gomaxprocs"`
	Started       string  `json:"started"`
	WallSeconds   float64 `json:"wall_seconds"`
	ReceiverRSSMB float64 `json:"receiver_peak_rss_mb"`

	// Replay, with --replay, is the replay of every accepted event after
	// the run.
	Replay *ReplayReport `json:"replay,omitempty"`

	// OrderedLanes, with --ordered-lanes, is how many ordered lanes each
	// webhook has (ordering data.lane), and PerLanePerSecond the
	// deliveries a second of one lane: DeliveriesPerSecond over every
	// webhook's lanes.
	OrderedLanes     int     `json:"ordered_lanes,omitempty"`
	PerLanePerSecond float64 `json:"delivered_per_second_per_lane,omitempty"`

	// Hostile, with --hostile, is what the hostile webhooks took; the
	// figures above are then the healthy webhooks' alone (the receiver that
	// counts them gets no other traffic).
	Hostile *HostileReport `json:"hostile,omitempty"`
}

// ReplayReport is a replay of every event of the run to every webhook
// (include_succeeded): each delivery arrives again with its first
// webhook-id, so the receiver counts it as a duplicate.
type ReplayReport struct {
	Expected  int64   `json:"expected"`   // accepted events × webhooks
	Delivered int64   `json:"delivered"`  // arrived again with their first webhook-id
	NewIDs    int64   `json:"new_ids"`    // arrived with a webhook-id not seen before: none when right
	Seconds   float64 `json:"seconds"`    // from the replays' start to the last arrival
	PerSecond float64 `json:"per_second"` // delivered a second
}

// HostileReport is the hostile webhooks' part of a run.
type HostileReport struct {
	Webhooks int           `json:"webhooks"`
	Kinds    []HostileKind `json:"kinds"` // webhook i's receiver is of kind i mod len(kinds)
	Share    float64       `json:"share"` // of the events, matched by the hostile webhooks too
	Expected int64         `json:"expected_deliveries"`
	Attempts int64         `json:"attempts"` // requests the hostile receivers got
	// Pending are the hostile deliveries still queued (due or retrying)
	// when delivery stopped: expected, as they fail and are retried.
	Pending int64 `json:"pending"`
	// StopSeconds is how long hookd's dispatcher took to stop once asked;
	// StopOverran says it had not stopped within its grace period plus 2 s,
	// and that the bench closed the hostile receivers to end it.
	StopSeconds float64        `json:"stop_seconds"`
	StopOverran bool           `json:"stop_overran,omitempty"`
	ByKind      []HostileStats `json:"by_kind"`
}

// Write prints r as a table, or as JSON.
func (r *Report) Write(w io.Writer, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, format string, a ...any) { fmt.Fprintf(tw, "%s\t%s\n", k, fmt.Sprintf(format, a...)) }
	mode := r.Mode
	if r.Rate > 0 {
		mode += fmt.Sprintf(" (%.0f events/s)", r.Rate)
	}
	if r.FailRate > 0 {
		mode += fmt.Sprintf(", receiver fails %.0f%%", r.FailRate*100)
	}
	row("database", "%s", r.Database)
	row("mode", "%s", mode)
	row("webhooks (fan-out)", "%d", r.Webhooks)
	if r.IdleWebhooks > 0 {
		row("idle webhooks", "%d, matching no event", r.IdleWebhooks)
	}
	row("events × fan-out", "%s × %d = %s deliveries", thousands(int64(r.Events)), r.Webhooks, thousands(r.Expected))
	if r.Filtered > 0 {
		row("filtered webhooks", "%d, subscribed to every event, each with a filter on data that none passes", r.Filtered)
	}
	row("publish", "%s", batchText(r.Batch))
	row("concurrency", "%d attempts in flight, timeout %s", r.Concurrency, r.Timeout)
	healthy := ""
	if h := r.Hostile; h != nil {
		kinds := make([]string, len(h.Kinds))
		for i, k := range h.Kinds {
			kinds[i] = string(k)
		}
		row("hostile webhooks", "%d (%s), matching %.0f%% of the events: %s deliveries", h.Webhooks,
			strings.Join(kinds, ", "), h.Share*100, thousands(h.Expected))
		healthy = "healthy "
	}
	row("accepted events/s", "%s (%s events in %.2fs)", thousands(int64(r.EventsPerSecond)), thousands(r.Accepted), r.IntakeSeconds)
	row("publish request p50/p99", "%.1f / %.1f ms (max %.1f)", r.PublishP50, r.PublishP99, r.PublishMax)
	row(healthy+"delivered webhooks/s", "%s (%s of %s in %.2fs)", thousands(int64(r.DeliveriesPerSecond)), thousands(r.Delivered),
		thousands(r.Accepted*int64(r.Webhooks)), r.DeliverySeconds)
	if r.OrderedLanes > 0 {
		row("ordered lanes", "%d a webhook (ordering data.lane): %.1f delivered/s a lane", r.OrderedLanes, r.PerLanePerSecond)
	}
	if r.RawPerSecond > 0 {
		row("raw client limit", "%s requests/s (%s before hookd, %s after) → hookd at %.0f%% of it",
			thousands(int64(r.RawPerSecond)), thousands(int64(r.RawBefore)), thousands(int64(r.RawAfter)), r.RawRatio*100)
	}
	row(healthy+"latency p50/p90/p99", "%.1f / %.1f / %.1f ms (max %.1f)", r.P50, r.P90, r.P99, r.Max)
	row(healthy+"duplicates / missing", "%d / %d", r.Duplicates, r.Missing)
	if rp := r.Replay; rp != nil {
		row("replayed webhooks/s", "%s (%s of %s again, with their first webhook-id, in %.2fs; %d with a new one)",
			thousands(int64(rp.PerSecond)), thousands(rp.Delivered), thousands(rp.Expected), rp.Seconds, rp.NewIDs)
	}
	if r.FailRate > 0 {
		row("attempts / retried", "%s / %s", thousands(r.Attempts), thousands(r.Retried))
		row("failed for good / lost", "%d / %d", r.FailedForGood, r.Lost)
	}
	if r.Pending > 0 {
		row(healthy+"still queued at stop", "%s", thousands(r.Pending))
	}
	if h := r.Hostile; h != nil {
		row("hostile attempts", "%s (%s deliveries still queued at stop)", thousands(h.Attempts), thousands(h.Pending))
		for _, k := range h.ByKind {
			row("  "+string(k.Kind), "%s attempts on %s connections, held %.1f s in all (longest %.2f s)%s",
				thousands(k.Requests), thousands(k.Connections), k.HeldSeconds, k.MaxHeldSeconds, refusedText(k.Refused))
		}
		stop := fmt.Sprintf("%.2f s", h.StopSeconds)
		if h.StopOverran {
			stop += ": overran its grace, ended by closing the hostile receivers"
		}
		row("dispatcher stop", "%s", stop)
	}
	row("peak RSS (hookd process)", "%.0f MB", r.PeakRSSMB)
	row("CPU (hookd process)", "%.1f s (%.2f ms a delivery); receiver %.1f s, publisher %.1f s", r.CPUSeconds,
		1000*r.CPUSeconds/float64(max(r.Delivered, 1)), r.ReceiverCPUSeconds, r.PublisherCPUSeconds)
	row("store calls", "%d claims (%.1f each), %d completes (%.1f each), %d publishes (%s deliveries handed off): %.3f calls a delivery",
		r.Claims, r.AvgClaim, r.Completes, r.AvgComplete, r.Publishes, thousands(r.HandedOff), r.StoreCallsPerD)
	row("store call time", "claim %.2f ms, complete %.2f ms, publish %.2f ms (means)", r.ClaimMS, r.CompleteMS, r.PublishMS)
	if r.DBXactsPerD > 0 {
		row("database transactions", "%.3f a delivery", r.DBXactsPerD)
	}
	return tw.Flush()
}

func refusedText(n int64) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(", %s connections refused (too many open)", thousands(n))
}

func batchText(batch int) string {
	if batch <= 1 {
		return "single events (POST /api/v2/events)"
	}
	return fmt.Sprintf("batches of up to %d (POST /api/v2/events/batch)", batch)
}

// thousands formats n with comma separators.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// Progress draws a progress bar on w (a terminal: redrawn in place;
// otherwise a line every 5 seconds) until ctx ends.
func Progress(ctx context.Context, w io.Writer, expected int64, status func() (accepted, delivered int64)) {
	tty := false
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	every := 5 * time.Second
	if tty {
		every = 200 * time.Millisecond
	}
	t := time.NewTicker(every)
	defer t.Stop()
	start := time.Now()
	var lastD int64
	lastT := start
	draw := func(final bool) {
		acc, del := status()
		frac := float64(del) / float64(max(expected, 1))
		const width = 30
		n := min(width, int(frac*width))
		now := time.Now()
		rate := float64(del-lastD) / now.Sub(lastT).Seconds()
		lastD, lastT = del, now
		line := fmt.Sprintf("[%s%s] %3.0f%% delivered %s/%s  accepted %s  %s/s  %.0fs",
			strings.Repeat("#", n), strings.Repeat(".", width-n), frac*100, thousands(del), thousands(expected),
			thousands(acc), thousands(int64(rate)), now.Sub(start).Seconds())
		if tty {
			fmt.Fprintf(w, "\r%s\033[K", line)
			if final {
				fmt.Fprintln(w)
			}
		} else {
			fmt.Fprintln(w, line)
		}
	}
	for {
		select {
		case <-ctx.Done():
			draw(true)
			return
		case <-t.C:
			draw(false)
		}
	}
}

// CountingStore counts the queue's store calls, for the calls-a-delivery
// figure, and the time they take.
type CountingStore struct {
	hookd.Store
	Claims, Claimed, TargetReads, Completes, Completed, Publishes atomic.Int64
	// HandedOff counts the deliveries that publishes leased at once
	// (hookd.Handoff), with no claim.
	HandedOff atomic.Int64
	// ClaimTime, CompleteTime and PublishTime add up the calls' durations.
	ClaimTime, CompleteTime, PublishTime atomic.Int64
}

// MeanMS is the mean of calls that took total nanoseconds, in milliseconds.
func MeanMS(total, calls int64) float64 {
	if calls == 0 {
		return 0
	}
	return float64(total) / float64(calls) / 1e6
}

func (s *CountingStore) Targets(ctx context.Context, webhookIDs []int64) (map[int64]*hookd.Target, error) {
	s.TargetReads.Add(1)
	return s.Store.Targets(ctx, webhookIDs)
}

func (s *CountingStore) Claim(ctx context.Context, req hookd.ClaimRequest) (hookd.Claimed, error) {
	start := time.Now()
	c, err := s.Store.Claim(ctx, req)
	s.ClaimTime.Add(int64(time.Since(start)))
	s.Claims.Add(1)
	s.Claimed.Add(int64(len(c.Deliveries)))
	return c, err
}

func (s *CountingStore) Complete(ctx context.Context, results []hookd.AttemptResult) error {
	_, err := s.CompleteDisabling(ctx, results)
	return err
}

// CompleteDisabling counts a Complete, and returns the webhooks the store
// disabled when it tells them (hookd.CompleteDisabling).
func (s *CountingStore) CompleteDisabling(ctx context.Context, results []hookd.AttemptResult) ([]int64, error) {
	s.Completes.Add(1)
	s.Completed.Add(int64(len(results)))
	start := time.Now()
	defer func() { s.CompleteTime.Add(int64(time.Since(start))) }()
	return hookd.CompleteDisabling(ctx, s.Store, results)
}

func (s *CountingStore) PublishEvents(ctx context.Context, events []*hookd.Event) ([]hookd.Published, error) {
	s.Publishes.Add(1)
	start := time.Now()
	defer func() { s.PublishTime.Add(int64(time.Since(start))) }()
	return s.Store.PublishEvents(ctx, events)
}

func (s *CountingStore) PublishAndClaim(ctx context.Context, events []*hookd.Event, h hookd.Handoff) ([]hookd.Published, error) {
	s.Publishes.Add(1)
	start := time.Now()
	defer func() { s.PublishTime.Add(int64(time.Since(start))) }()
	if h != nil {
		h = countedHandoff{h, &s.HandedOff}
	}
	return s.Store.PublishAndClaim(ctx, events, h)
}

// countedHandoff counts the deliveries a publish hands off.
type countedHandoff struct {
	hookd.Handoff
	n *atomic.Int64
}

func (c countedHandoff) Take(req hookd.ClaimRequest, claimed hookd.Claimed) {
	c.n.Add(int64(len(claimed.Deliveries)))
	c.Handoff.Take(req, claimed)
}
