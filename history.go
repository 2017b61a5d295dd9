package hookd

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// PruneChunk bounds the rows one pruning or clearing transaction deletes
// or rewrites, so that the history's upkeep never holds SQLite's writer
// (or PostgreSQL's row locks) for long: about a thousand rows take a few
// milliseconds, far under the 50 ms an intake may wait.
const PruneChunk = 1000

// EraseChunk bounds one transaction of an erasure of a project's or a
// user's events (EraseChunkLen): the events it rewrites plus the
// deliveries they were published with (it cancels them and clears their
// attempts), so that an erasure of any size never holds SQLite's writer,
// or PostgreSQL's row locks, for long. Erasing costs more than pruning
// (four statements an event, 60 µs an event with one delivery on SQLite):
// measured with such events (100,000 of one project, on a loaded two-core
// machine), a chunk of PruneChunk held SQLite's writer 26 ms (median; 55 ms
// at the 90th percentile), too close to the 50 ms an intake may wait; a
// quarter of it, 125 events, 7 ms (35 ms at worst), for an erasure about
// 10% longer in all.
const EraseChunk = PruneChunk / 4

// EraseChunkLen returns how many of an erasure's next events its next
// chunk takes, given the deliveries each was published with, in the
// erasure's order: an event and its deliveries cost at most limit a chunk
// in all, but a chunk takes at least one event, so that an event fanned out
// to more webhooks than limit still goes, alone.
func EraseChunkLen(deliveries []int, limit int) int {
	cost := 0
	for i, n := range deliveries {
		if cost += 1 + n; i > 0 && cost > limit {
			return i
		}
	}
	return len(deliveries)
}

// PartitionDaysAhead is how many days after today's a store that
// partitions its history by day (PostgreSQL) makes ahead at each Prune, so
// that no row lands in the catch-all partition when a day begins.
const PartitionDaysAhead = 3

// ErasedData is what an erased event's data, or one whose payload retention
// ended, becomes: its metadata (id, name, project, user, times) is kept.
var ErasedData = json.RawMessage(`{}`)

// Erasure's attempt log entry for each queued delivery it cancels.
const (
	ErasedErrorClass = "erased"
	ErasedError      = "event erased: delivery cancelled"
)

// Erasure says whose events to erase: one event, every event of a project
// or every event of a user. Exactly one is set.
type Erasure struct {
	EventID   string
	ProjectID string
	UserID    *int64
}

// ErrInvalidErasure is wrapped by Erasure.Validate's errors.
var ErrInvalidErasure = errors.New("invalid erasure")

// Validate checks that exactly one of e's fields is set.
func (e Erasure) Validate() error {
	n := 0
	for _, set := range []bool{e.EventID != "", e.ProjectID != "", e.UserID != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return fmt.Errorf("%w: name exactly one of an event, a project or a user", ErrInvalidErasure)
	}
	return nil
}

// Erased counts what an erasure changed.
type Erased struct {
	Events    int // events whose data went
	Cancelled int // queued deliveries cancelled (state failed, logged)
	Attempts  int // attempt log entries whose response bodies went
}

// Erasure, for the stores: an erased event's data becomes ErasedData and
// its erased_at is set; the response bodies logged for its attempts become
// empty; each of its pending deliveries (in flight included: the worker's
// result is then dropped) fails for good with a log entry of
// ErasedErrorClass, without counting toward its webhook's health or
// circuit; and Requeue skips deliveries of erased events. Payload retention
// (Store.ClearPayloads) clears the same payloads of events and attempts
// older than its cutoff, except events that a pending delivery still needs.

// DayPartitions returns the days (UTC midnights) a store that partitions
// its history by day should hold at now: today and PartitionDaysAhead
// after.
func DayPartitions(now time.Time) []time.Time {
	today := now.UTC().Truncate(24 * time.Hour)
	days := make([]time.Time, 0, PartitionDaysAhead+1)
	for i := 0; i <= PartitionDaysAhead; i++ {
		days = append(days, today.AddDate(0, 0, i))
	}
	return days
}

// HistoryFill is a stretch of generated history for hookd generate, written
// straight into the tables (not through the intake) to measure a store
// with years of it: events Tag+i for i in [First, First+N), one every Step
// from From, each delivered to one of Webhooks in turn and succeeded;
// every RetryEvery-th first failed Failures times with a 503. Data pads each
// event's data to a realistic size.
type HistoryFill struct {
	Tag                  string
	Webhooks             []int64
	From                 time.Time
	Step                 time.Duration
	First, N             int64
	RetryEvery, Failures int64
	Pad                  string
}

// At is the creation time of event i.
func (h HistoryFill) At(i int64) time.Time { return h.From.Add(time.Duration(i-h.First) * h.Step) }
