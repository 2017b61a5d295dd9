package delivery

import (
	"context"
	"log/slog"
	"time"

	"github.com/hookd/hookd"
)

// FanOutPoll is how often a dispatcher looks for events whose deliveries
// a publish of another process left to Store.FanOut (hookd.PlanFanOut),
// so that it goes on with them if that one dies; its own publishes wake it
// at once (Store.FanOutWakeup).
const FanOutPoll = time.Second

// fanOuter creates the deliveries that publishes left to Store.FanOut.
type fanOuter struct {
	store hookd.Store
	log   *slog.Logger
}

// run calls FanOut, a chunk after another while any remain (each a
// transaction of its own, so publishes go on in between), and otherwise
// when a publish wakes it or every FanOutPoll, until ctx ends.
func (f *fanOuter) run(ctx context.Context) {
	poll := time.NewTicker(FanOutPoll)
	defer poll.Stop()
	for {
		remaining, err := f.store.FanOut(ctx)
		if err != nil && ctx.Err() == nil {
			f.log.Error("creating the deliveries of a large fan-out", "err", err)
		}
		if remaining && err == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-poll.C:
		case <-f.store.FanOutWakeup():
		}
	}
}
