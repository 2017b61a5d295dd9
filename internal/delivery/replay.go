package delivery

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"time"

	"github.com/hookd/hookd"
)

// ReplayLeader is the name of the lead that each round of Replays takes:
// on PostgreSQL, one process at a time works the replays.
const ReplayLeader = "replay"

// DefaultReplayInterval is how often Replays looks for a new replay.
const DefaultReplayInterval = time.Second

// replayPause is how soon Replays looks again while replays run and wait
// for their deliveries (hookd.ReplayWaits): a replay goes at up to
// hookd.ReplayQueueLimit deliveries a pause, beyond what receivers take.
const replayPause = 100 * time.Millisecond

// ReplayObserver is told when the replay loop finishes a replay (it has
// read every event of its range): the hook for operational notifications
// (the API tells it of the replays it cancels: hookdhttp.WithReplayObserver).
// Its method must be quick.
type ReplayObserver interface {
	ReplayFinished(r *hookd.Replay)
}

// replayer works the running replays, a chunk at a time, under a lead.
type replayer struct {
	store    hookd.Store
	leader   hookd.Leader // nil: this process leads every round
	log      *slog.Logger
	observer ReplayObserver
}

// Replays works the running replays (hookd.Replay) every interval until
// ctx ends: each round, in the process that wins the lead called
// ReplayLeader, it works a chunk of each running replay in turn, and again,
// as long as one of them advances. A replay that was interrupted (a
// restart, a kill) goes on from its last chunk, which is recorded in the
// same transaction as its deliveries.
func (d *Dispatcher) Replays(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = DefaultReplayInterval
	}
	timer := time.NewTimer(every)
	defer timer.Stop()
	for {
		wait := every
		if d.replayer.round(ctx) {
			wait = min(every, replayPause)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
	}
}

// round runs one round of replays if this process wins its lead, and
// reports whether replays are left running (waiting for their deliveries).
func (p *replayer) round(ctx context.Context) (running bool) {
	if p.leader != nil {
		release, ok, err := p.leader.TryLead(ctx, ReplayLeader)
		if err != nil || !ok {
			if err != nil && ctx.Err() == nil {
				p.log.Warn("replays skipped: electing their leader failed", "err", err)
			}
			return false
		}
		defer release()
	}
	ids, err := p.store.RunningReplays(ctx)
	if err != nil {
		if ctx.Err() == nil {
			p.log.Error("reading the running replays", "err", err)
		}
		return false
	}
	for advanced := true; advanced && len(ids) > 0 && ctx.Err() == nil; {
		advanced = false
		ended := map[int64]bool{}
		for _, id := range ids {
			r, more, err := p.store.ReplayChunk(ctx, id)
			switch {
			case errors.Is(err, hookd.ErrNotFound): // deleted with its webhook
				ended[id] = true
				continue
			case err != nil:
				if ctx.Err() == nil {
					p.log.Error("replaying a chunk", "replay", id, "err", err)
				}
				continue
			}
			advanced = advanced || more
			if r.State == hookd.ReplayRunning {
				continue
			}
			ended[id] = true
			if more { // it finished in this chunk
				p.log.Info("replay done", "replay", r.ID, "webhook", r.WebhookID, "events", r.Scanned, "queued", r.Queued)
				if p.observer != nil {
					p.observer.ReplayFinished(r)
				}
			}
		}
		ids = slices.DeleteFunc(ids, func(id int64) bool { return ended[id] })
	}
	return len(ids) > 0
}
