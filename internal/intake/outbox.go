package intake

import (
	"context"
	"log/slog"
	"time"
	"unicode/utf8"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/backoff"
)

// Relay defaults.
const (
	// DefaultRelayBatch is how many outbox rows one transaction of the
	// relay takes, as many as one API batch.
	DefaultRelayBatch = 1000
	// DefaultRelayPoll is how often the relay looks at the outbox without
	// a notification: NOTIFY is best effort, the outbox table is the truth.
	DefaultRelayPoll = time.Second
	// DefaultRelayTimeout bounds one transaction of the relay, so that a
	// database that hangs is tried again rather than waited for; the
	// database ends it then too, should this process stop midway, and
	// another process's relay takes over.
	DefaultRelayTimeout = time.Minute
)

// maxLoggedValue bounds each value of a rejected row that the log shows: a
// row's values and reasons are the platform's, as long as it made them
// (the whole row is kept in outbox_rejected).
const maxLoggedValue = 300

// logged is s cut to maxLoggedValue bytes, on a character's boundary.
func logged(s string) string {
	if len(s) <= maxLoggedValue {
		return s
	}
	cut := maxLoggedValue
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// Relay moves committed rows of a store's transactional outbox into its
// queue. Every hookd process on the database runs one; they take turns
// (hookd.Outbox.RelayOutbox), so that committed rows are published in their
// order (seq; a platform transaction that commits after a later one's rows
// were relayed comes after them).
type Relay struct {
	Outbox hookd.Outbox
	// Check turns a row into its event with the intake's rules (the HTTP
	// API's OutboxEvent).
	Check    func(hookd.OutboxRow) (*hookd.Event, error)
	Batch    int           // default DefaultRelayBatch
	Poll     time.Duration // default DefaultRelayPoll
	Timeout  time.Duration // default DefaultRelayTimeout
	Logger   *slog.Logger  // default slog.Default()
	Observer func(hookd.OutboxRelayed)
}

// Run relays until ctx ends: at once (rows committed while hookd was down
// wait there), whenever a platform commits rows, and every Poll.
func (r *Relay) Run(ctx context.Context) {
	batch, poll, timeout, log := r.Batch, r.Poll, r.Timeout, r.Logger
	if batch <= 0 {
		batch = DefaultRelayBatch
	}
	if poll <= 0 {
		poll = DefaultRelayPoll
	}
	if timeout <= 0 {
		timeout = DefaultRelayTimeout
	}
	if log == nil {
		log = slog.Default()
	}
	retry := backoff.Backoff{First: 100 * time.Millisecond, Max: 10 * time.Second}
	ticker := time.NewTicker(poll)
	defer ticker.Stop()
	for ctx.Err() == nil {
		callCtx, cancel := context.WithTimeout(ctx, timeout)
		res, err := r.Outbox.RelayOutbox(callCtx, batch, r.Check)
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				log.Error("outbox relay", "err", err)
				retry.Wait(ctx)
			}
			continue
		}
		retry.Reset()
		for _, rej := range res.Rejected {
			log.Warn("outbox row rejected: kept in outbox_rejected", "seq", rej.Row.Seq, "event", logged(rej.Row.Event), "reason", logged(rej.Reason))
		}
		if r.Observer != nil && res.Rows > 0 {
			r.Observer(res)
		}
		if res.More {
			continue
		}
		select {
		case <-ctx.Done():
		case <-r.Outbox.OutboxWakeup():
		case <-ticker.C:
		}
	}
}
