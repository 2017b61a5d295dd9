package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd/api"
	"github.com/hookd/hookd/client"
	"github.com/hookd/hookd/internal/postgres/pgtest"
)

// laneReceiver checks, on 127.0.0.1, the order in which an ordered
// webhook's deliveries arrive, lane by lane: each event's data is
// {"lane": l, "seq": i}, published in seq order, and it answers 500 to a
// share of the requests (failRate) so that deliveries are retried.
type laneReceiver struct {
	mu       sync.Mutex
	failRate float64
	last     map[int]int  // the seq each lane got last
	lastOK   map[int]bool // the last request of the lane was answered 200
	requests int
	failed   int // answered 500
	// again counts the requests for the seq a lane had already got with
	// a 200: the attempts a killed process had in flight, not recorded.
	again int
	bad   []string // requests out of order
}

func newLaneReceiver(t *testing.T, failRate float64) (*laneReceiver, *httptest.Server) {
	r := &laneReceiver{failRate: failRate, last: map[int]int{}, lastOK: map[int]bool{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var body struct {
			ID   string `json:"id"`
			Data struct{ Lane, Seq int }
		}
		data, _ := io.ReadAll(req.Body)
		if err := json.Unmarshal(data, &body); err != nil {
			t.Errorf("receiver: body %q: %v", data, err)
			return
		}
		lane, seq := body.Data.Lane, body.Data.Seq
		r.mu.Lock()
		defer r.mu.Unlock()
		r.requests++
		last, seen := r.last[lane]
		switch {
		case !seen && seq == 0, seen && seq == last+1:
		case seen && seq == last:
			if r.lastOK[lane] {
				r.again++
			}
		default:
			r.bad = append(r.bad, fmt.Sprintf("lane %d: seq %d after %d", lane, seq, last))
		}
		r.last[lane] = max(seq, last)
		r.lastOK[lane] = rand.Float64() >= r.failRate
		if !r.lastOK[lane] {
			r.failed++
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	t.Cleanup(srv.Close)
	return r, srv
}

func (r *laneReceiver) progress() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests
}

// testOrderedLanes runs processes hookd processes on database, an ordered
// webhook (one lane per value of data.lane) and a receiver that fails a
// third of the requests; it publishes every lane's events, kills the last
// process with SIGKILL once deliveries are under way, starts it again,
// and checks the order each lane's requests came in: each seq after the one
// before, or the one before again (a retry, or the attempt in flight at the
// kill); no gap, no going back.
func testOrderedLanes(t *testing.T, database string, processes int) {
	const lanes, perLane, concurrency = 6, 40, 8
	bin := buildHookd(t)
	recv, target := newLaneReceiver(t, 1.0/3)
	args := []string{"--database", database, "--allow-private", "127.0.0.0/8", "--timeout", "2s", "--lease-margin", "3s",
		"--lease", "5s", "--concurrency", fmt.Sprint(concurrency), "--retry-schedule", "50ms,50ms,50ms,50ms,50ms,50ms,50ms,50ms",
		"--circuit-failures", "5", "--circuit-cooldown", "1s", "--circuit-max-cooldown", "1s", "--shutdown-grace", "1s"}
	procs := make([]*hookdProcess, processes)
	for i := range procs {
		procs[i] = startHookd(t, bin, args...)
	}
	ctx := context.Background()
	admin := client.New(procs[0].url, testAdminKey)
	w, err := admin.CreateWebhook(ctx, api.NewWebhook{Name: "ordered", HTTPURL: target.URL, HTTPMethod: "POST",
		TriggerEvents: []string{"ASSET_ADDED"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.UpdateSettings(ctx, w.ID, map[string]any{"ordering": "data.lane"}); err != nil {
		t.Fatal(err)
	}
	// A batch a seq, one event a lane, one after the other: each lane's
	// acceptance order is its seq order.
	for seq := range perLane {
		batch := make([]api.Event, lanes)
		for l := range batch {
			batch[l] = api.Event{ID: fmt.Sprintf("evt_lane_%d_%03d", l, seq), Event: "ASSET_ADDED",
				Data: json.RawMessage(fmt.Sprintf(`{"lane": %d, "seq": %d}`, l, seq))}
		}
		if _, err := admin.PublishBatch(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	for recv.progress() < lanes*perLane/4 {
		time.Sleep(2 * time.Millisecond)
	}
	victim := len(procs) - 1
	if err := procs[victim].cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	procs[victim].cmd.Wait()
	t.Logf("killed a process with SIGKILL after %d requests", recv.progress())
	procs[victim] = startHookd(t, bin, args...)

	waitDrained(t, client.New(procs[0].url, testAdminKey), []int64{w.ID}, time.Now().Add(120*time.Second))
	recv.mu.Lock()
	defer recv.mu.Unlock()
	for l := range lanes {
		if last, ok := recv.last[l]; !ok || last != perLane-1 {
			t.Errorf("lane %d: the last seq is %d (got any: %v), want %d", l, last, ok, perLane-1)
		}
	}
	t.Logf("%d requests for %d events: %d answered 500, %d again after a 200", recv.requests, lanes*perLane, recv.failed, recv.again)
	for _, b := range recv.bad {
		t.Error(b)
	}
	// Each lane has at most one attempt in flight: the killed process's
	// come back once each at most.
	if recv.again > lanes {
		t.Errorf("%d requests again after a 200, more than one a lane (%d)", recv.again, lanes)
	}
}

// TestOrderedDeliverySQLite: one process on SQLite, killed and restarted.
func TestOrderedDeliverySQLite(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs hookd processes")
	}
	t.Parallel()
	testOrderedLanes(t, filepath.Join(t.TempDir(), "hookd.db"), 1)
}

// TestOrderedDeliveryPostgres: three processes on one PostgreSQL schema,
// one killed and restarted.
func TestOrderedDeliveryPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs hookd processes")
	}
	t.Parallel()
	schema := pgtest.Schema(t) // skips without PostgreSQL
	testOrderedLanes(t, pgtest.URLFor(t, schema), 3)
}
