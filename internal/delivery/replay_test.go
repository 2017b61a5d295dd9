package delivery

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/sqlite/sqlitetest"
)

// replayReceiver is a receiver on 127.0.0.1 that records the webhook-id
// of each request by event id, and refuses the events of failOn while
// failing is on.
type replayReceiver struct {
	*httptest.Server
	mu      sync.Mutex
	got     map[string][]string // event id -> webhook-ids received
	failOn  map[string]bool
	failing atomic.Bool
}

func newReplayReceiver(t *testing.T, failOn map[string]bool) *replayReceiver {
	rr := &replayReceiver{got: map[string][]string{}, failOn: failOn}
	rr.failing.Store(true)
	rr.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			ID string `json:"id"`
		}
		json.NewDecoder(r.Body).Decode(&body)
		rr.mu.Lock()
		rr.got[body.ID] = append(rr.got[body.ID], r.Header.Get(HeaderWebhookID))
		rr.mu.Unlock()
		if rr.failing.Load() && rr.failOn[body.ID] {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	t.Cleanup(rr.Close)
	return rr
}

func (rr *replayReceiver) count() int {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	n := 0
	for _, ids := range rr.got {
		n += len(ids)
	}
	return n
}

func (rr *replayReceiver) received() map[string][]string {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	out := map[string][]string{}
	for id, ids := range rr.got {
		out[id] = slices.Clone(ids)
	}
	return out
}

// finished records the replays the replay loop finished.
type finished struct {
	mu  sync.Mutex
	ids []int64
}

func (f *finished) ReplayFinished(r *hookd.Replay) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ids = append(f.ids, r.ID)
}

// TestReplayResends delivers events to a real receiver on 127.0.0.1, some
// failing for good, then replays a range of them: the receiver gets
// exactly the events of the range, once each, with the webhook-id of their
// first delivery; without include_succeeded only the failed ones.
func TestReplayResends(t *testing.T) {
	backends(t, func(t *testing.T, st hookd.Store) {
		ctx := t.Context()
		failOn := map[string]bool{}
		rr := newReplayReceiver(t, failOn)
		wh := &hookd.Webhook{Name: "replay", HTTPURL: rr.URL + "/in", HTTPMethod: http.MethodPost, TriggerEvents: []string{"ASSET_ADDED"}}
		if err := st.CreateWebhook(ctx, wh, hookd.NewSigningSecret()); err != nil {
			t.Fatal(err)
		}
		observer := &finished{}
		d := newDispatcher(t, Config{
			Store:          st,
			Sender:         NewSender(SenderConfig{Timeout: 5 * time.Second, AllowPrivate: loopback}),
			Policy:         &Policy{}, // no retry: a failure is final
			ReplayObserver: observer,
		})
		stop := runDispatcher(t, d)
		defer stop()

		// Ten events an hour apart, accepted 10 h ago to 1 h ago; the 3rd
		// and 6th fail.
		base := time.Now().UTC().Truncate(time.Millisecond).Add(-10 * time.Hour)
		var events []*hookd.Event
		for i := range 10 {
			e := &hookd.Event{Event: "ASSET_ADDED", ID: fmt.Sprintf("evt_replay_%d", i), CreatedAt: base.Add(time.Duration(i) * time.Hour),
				Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i))}
			events = append(events, e)
			failOn[e.ID] = i == 2 || i == 5
		}
		if _, err := st.PublishEvents(ctx, events); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "the first deliveries, recorded", func() bool {
			w, err := st.Webhook(ctx, wh.ID)
			return rr.count() == 10 && err == nil && w.QueueLength == 0 && w.RetryQueueLength == 0
		})
		first := rr.received()
		rr.failing.Store(false)

		// Events 2 to 7: [base+2h, base+8h).
		since, until := base.Add(2*time.Hour), base.Add(8*time.Hour)
		inRange := func(e *hookd.Event) bool { return !e.CreatedAt.Before(since) && e.CreatedAt.Before(until) }
		replay := func(includeSucceeded bool, want []*hookd.Event) {
			t.Helper()
			before := rr.received()
			r, err := hookd.NewReplay(wh.ID, since, &until, includeSucceeded, time.Now(), 0)
			if err != nil {
				t.Fatal(err)
			}
			if err := st.CreateReplay(ctx, r); err != nil {
				t.Fatal(err)
			}
			d.replayer.round(ctx)
			waitFor(t, 10*time.Second, "the replayed deliveries", func() bool {
				got, err := st.Replay(ctx, wh.ID, r.ID)
				return err == nil && got.State == hookd.ReplayDone && got.Pending == 0
			})
			got, _ := st.Replay(ctx, wh.ID, r.ID)
			if got.Queued != len(want) || got.Succeeded != len(want) || got.Scanned != 6 || got.Total != 6 {
				t.Errorf("replay %+v: want %d queued and succeeded of 6 events", got, len(want))
			}
			after := rr.received()
			for _, e := range events {
				resent := after[e.ID][len(before[e.ID]):]
				switch {
				case !slices.Contains(want, e) && len(resent) > 0:
					t.Errorf("event %s (in range: %v) re-sent", e.ID, inRange(e))
				case slices.Contains(want, e) && !slices.Equal(resent, first[e.ID][:1]):
					t.Errorf("event %s re-sent with webhook-ids %v, want once with %v", e.ID, resent, first[e.ID][:1])
				}
			}
		}
		replay(false, []*hookd.Event{events[2], events[5]})
		replay(true, events[2:8])
		observer.mu.Lock()
		defer observer.mu.Unlock()
		if len(observer.ids) != 2 {
			t.Errorf("ReplayFinished told of %v, want both replays", observer.ids)
		}
	})
}

// A round of replays runs only in the process that wins the lead called
// ReplayLeader, and releases it after: on PostgreSQL, one process at a time
// works the replays.
func TestReplayRoundTakesTheLead(t *testing.T) {
	ctx := t.Context()
	st := sqlitetest.Open(t)
	wh := &hookd.Webhook{Name: "w", HTTPURL: "http://127.0.0.1:1/", HTTPMethod: http.MethodPost, TriggerEvents: []string{"ASSET_ADDED"}}
	if err := st.CreateWebhook(ctx, wh, ""); err != nil {
		t.Fatal(err)
	}
	r, _ := hookd.NewReplay(wh.ID, time.Now().Add(-time.Hour), nil, false, time.Now(), 0)
	if err := st.CreateReplay(ctx, r); err != nil {
		t.Fatal(err)
	}
	leader := &fakeLeader{}
	d := newDispatcher(t, Config{Store: st, Leader: leader})
	state := func() hookd.ReplayState {
		got, err := st.Replay(ctx, wh.ID, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got.State
	}
	d.replayer.round(ctx)
	if s := state(); s != hookd.ReplayRunning || leader.tries.Load() != 1 {
		t.Fatalf("without the lead: replay %s after %d tries", s, leader.tries.Load())
	}
	leader.lead.Store(true)
	d.replayer.round(ctx)
	if s := state(); s != hookd.ReplayDone || leader.releases.Load() != 1 {
		t.Errorf("with the lead: replay %s, %d releases", s, leader.releases.Load())
	}
	if _, ok := leader.names.Load(ReplayLeader); !ok {
		t.Errorf("the lead was not called %q", ReplayLeader)
	}
}
