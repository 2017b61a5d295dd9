package hookd

import (
	"bytes"
	"fmt"
	"time"
)

// A Replay re-sends to one webhook the events accepted in [Since, Until)
// that it receives as it is now (its subscriptions and filter: Resend),
// as new deliveries in the order the events were accepted, each with the
// webhook-id of the event's first delivery to the webhook, so that a
// receiver that dedupes on it sees each event once. It runs in the
// background, a chunk of events at a time (Store.ReplayChunk), and its
// deliveries go through the queue like any other, within the webhook's
// share, throttle and circuit.
type Replay struct {
	ID        int64
	WebhookID int64
	Since     time.Time
	Until     time.Time
	// IncludeSucceeded re-sends the events the webhook already received
	// too; without it, only those it never received (they failed for good,
	// or it did not receive them then).
	IncludeSucceeded bool
	State            ReplayState
	// Total is how many events were accepted in the range when the replay
	// started; Scanned how many of them it has read so far, Queued how
	// many deliveries it created.
	Total, Scanned, Queued int
	// SkippedPayloadExpired counts the events it did not re-send because
	// payload retention (--payload-retention) had cleared their data:
	// sending {} in their place would mislead the receiver.
	SkippedPayloadExpired int
	// What became of its deliveries, read when the replay is read: they
	// are pruned with the others, after --retention.
	Pending, Succeeded, Failed int
	CreatedAt                  time.Time
	FinishedAt                 *time.Time // when it was done or cancelled
	// After is where it stands: the last event it read, in the order of
	// (CreatedAt, ID) of the events.
	AfterAt time.Time
	AfterID string
}

// ReplayState is where a replay stands; stores keep it as this text.
type ReplayState string

// The states of a replay.
const (
	ReplayRunning   ReplayState = "running"
	ReplayDone      ReplayState = "done" // every event in range was read and re-sent or skipped
	ReplayCancelled ReplayState = "cancelled"
)

// ReplayChunkSize is how many events a chunk of a replay reads, in one
// transaction.
const ReplayChunkSize = 250

// ReplayQueueLimit is how many of a replay's deliveries may wait in the
// queue before it reads its next chunk (ReplayWaits): a replay of a
// million events queues them as the receiver takes them, never floods the
// queue, and a cancel stops most of them.
const ReplayQueueLimit = 4 * ReplayChunkSize

// RuleReplayRange is the rule a range of time breaks when it is empty.
const RuleReplayRange = "Must be a range of time: since before until (until defaults to now)"

// ReplayRangeError refuses a replay's range; Field is "since" or "until",
// Rule says why in the API's words.
type ReplayRangeError struct {
	Field string
	Rule  string
}

func (e *ReplayRangeError) Error() string { return e.Field + ": " + e.Rule }

// NewReplay is the rule of a replay's range, at now, on a database that
// keeps events for retention (0: forever): since before until (a nil
// until is now; a later one is now, as events accepted from now on are
// delivered anyway) and since within the retention window, as older events
// are pruned.
func NewReplay(webhookID int64, since time.Time, until *time.Time, includeSucceeded bool, now time.Time, retention time.Duration) (*Replay, error) {
	since, now = Stamp(since, now), Stamp(now, now)
	end := now
	if until != nil && Stamp(*until, now).Before(now) {
		end = Stamp(*until, now)
	}
	if retention > 0 {
		if oldest := now.Add(-retention); since.Before(oldest) {
			return nil, &ReplayRangeError{Field: "since", Rule: fmt.Sprintf(
				"Must be within the retention window (--retention %s): events accepted before %s are pruned and cannot be replayed",
				retention, oldest.Format(TimeLayout))}
		}
	}
	if !since.Before(end) {
		field := "since"
		if until != nil {
			field = "until"
		}
		return nil, &ReplayRangeError{Field: field, Rule: RuleReplayRange}
	}
	return &Replay{WebhookID: webhookID, Since: since, Until: end, IncludeSucceeded: includeSucceeded,
		State: ReplayRunning, CreatedAt: now, AfterAt: since}, nil
}

// ReplayCandidate is an event of a replay's range, with what became of its
// earlier deliveries to the replay's webhook.
type ReplayCandidate struct {
	Event *Event
	// MessageID is the webhook-id of the event's first delivery to the
	// webhook; "" when it had none.
	MessageID string
	// Pending and Succeeded tell whether one of those deliveries is still
	// pending (or the event's fan-out has yet to create it), or succeeded.
	Pending, Succeeded bool
	// Erased is set when the event was erased (Erasure); PayloadCleared
	// when it is older than what payload retention has cleared
	// (Store.ClearPayloads), which left its data ErasedData unless a
	// pending delivery needed it then.
	Erased, PayloadCleared bool
}

// Resend reports whether the replay re-sends c to w (with filter f, nil
// for none), and with which webhook-id: an event w subscribes to, not
// erased, not on its way already (a pending delivery goes out anyway, as
// does the delivery that the event's fan-out has still to create), not
// received already unless IncludeSucceeded, with its data still there
// (else it counts in SkippedPayloadExpired), and that w's filter accepts
// now. A disabled webhook receives nothing: its replay waits until it is
// enabled (Store.ReplayChunk).
func (r *Replay) Resend(w *Webhook, f *Filter, c ReplayCandidate) (messageID string, ok bool) {
	switch {
	case !w.Matches(c.Event) || c.Erased:
		return "", false
	case c.Pending, c.Succeeded && !r.IncludeSucceeded:
		return "", false
	case c.PayloadCleared && bytes.Equal(c.Event.Data, ErasedData):
		r.SkippedPayloadExpired++
		return "", false
	case !f.Accepts(NewFilterInput(c.Event)):
		return "", false
	case c.MessageID != "":
		return c.MessageID, true
	}
	return NewMessageID(), true
}

// Advance records a chunk of the replay: it read the events of chunk (in
// order) and queued queued deliveries; last says that no event is left
// after them (the store found fewer than a chunk's size).
func (r *Replay) Advance(chunk []ReplayCandidate, queued int, last bool, now time.Time) {
	r.Scanned += len(chunk)
	r.Queued += queued
	if len(chunk) > 0 {
		last := chunk[len(chunk)-1].Event
		r.AfterAt, r.AfterID = last.CreatedAt, last.ID
	}
	if last {
		r.finish(ReplayDone, now)
	}
}

// Cancel stops the replay; a finished one stays as it is. It reports
// whether the replay was running. The store drops, in the transaction that
// cancels it, the replay's pending deliveries that no attempt was recorded
// for and that are not in flight at now: not leased, or with a lease that
// has ended (DisabledChange.Park: its worker died, and a claim would send
// it again). One in flight is left to its worker, whose result is
// recorded as any other; the result of a dropped one, from a worker late
// past its lease, is dropped with it (Store.Complete).
func (r *Replay) Cancel(now time.Time) bool {
	if r.State != ReplayRunning {
		return false
	}
	r.finish(ReplayCancelled, now)
	return true
}

func (r *Replay) finish(state ReplayState, now time.Time) {
	r.State = state
	at := Stamp(now, now)
	r.FinishedAt = &at
}

// ReplayWaits reports whether a running replay waits before its next
// chunk: while its webhook is disabled, or while ReplayQueueLimit of its
// deliveries are pending.
func ReplayWaits(w *Webhook, pending int) bool {
	return w.Disabled || pending >= ReplayQueueLimit
}
