package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd/api"
	"github.com/hookd/hookd/client"
)

const testAdminKey = "admin.crash-test-secret-0123456789"

// built is the hookd binary that the tests run, compiled by the first
// that needs it.
var built struct {
	once sync.Once
	dir  string
	err  error
}

// buildHookd returns the hookd binary, compiled once per test run (TestMain
// removes it).
func buildHookd(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		built.dir, built.err = os.MkdirTemp("", "hookd-test-")
		if built.err != nil {
			return
		}
		out, err := exec.Command("go", "build", "-o", filepath.Join(built.dir, "hookd"), ".").CombinedOutput()
		if err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return filepath.Join(built.dir, "hookd")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// hookdProcess is a hookd serve subprocess.
type hookdProcess struct {
	cmd *exec.Cmd
	url string
}

func startHookd(t *testing.T, bin string, args ...string) *hookdProcess {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(bin, append([]string{"serve", "--addr", addr}, args...)...)
	cmd.Env = append(os.Environ(), "HOOKD_ADMIN_API_KEY="+testAdminKey)
	logFile, err := os.Create(filepath.Join(t.TempDir(), "hookd.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &hookdProcess{cmd: cmd, url: "http://" + addr}
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		p.cmd.Wait()
		if t.Failed() {
			log, _ := os.ReadFile(logFile.Name())
			t.Logf("hookd log:\n%s", log)
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		res, err := http.Get(p.url + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("hookd did not become ready: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// countingReceiver counts deliveries per event id.
type countingReceiver struct {
	mu       sync.Mutex
	received map[string]int
	total    int
}

func newCountingReceiver(t *testing.T, delay time.Duration) (*countingReceiver, *httptest.Server) {
	r := &countingReceiver{received: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		var e struct{ ID string }
		json.Unmarshal(body, &e)
		time.Sleep(delay)
		r.mu.Lock()
		r.received[e.ID]++
		r.total++
		r.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	return r, srv
}

func (r *countingReceiver) distinct() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.received)
}

// TestKill9DeliversEveryAcceptedEvent publishes events while deliveries
// are in flight, kills hookd with SIGKILL, restarts it on the same database
// and checks that every event it accepted reaches the receiver.
func TestKill9DeliversEveryAcceptedEvent(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs hookd processes")
	}
	// Processes of its own: its waits overlap the other process tests'.
	t.Parallel()
	bin := buildHookd(t)
	receiver, target := newCountingReceiver(t, 5*time.Millisecond)
	db := filepath.Join(t.TempDir(), "hookd.db")
	args := []string{"--database", db, "--allow-private", "127.0.0.0/8", "--timeout", "2s", "--lease-margin", "3s", "--lease", "5s",
		"--concurrency", "8", "--retry-schedule", "1s,1s,1s", "--shutdown-grace", "1s"}
	first := startHookd(t, bin, args...)

	ctx := context.Background()
	c := client.New(first.url, testAdminKey)
	if _, err := c.CreateWebhook(ctx, api.NewWebhook{Name: "crash", HTTPURL: target.URL, HTTPMethod: "POST", TriggerEvents: []string{"ASSET_ADDED"}}); err != nil {
		t.Fatal(err)
	}

	// Publish in batches until the process dies; every answered batch is
	// accepted.
	var accepted []string
	published := make(chan struct{})
	go func() {
		defer close(published)
		for i := 0; i < 100; i++ {
			batch := make([]api.Event, 50)
			for j := range batch {
				batch[j] = api.Event{Event: "ASSET_ADDED", Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i*50+j))}
			}
			events, err := c.PublishBatch(ctx, batch)
			if err != nil {
				return
			}
			for _, e := range events {
				accepted = append(accepted, e.ID)
			}
		}
	}()
	for receiver.distinct() < 200 {
		time.Sleep(5 * time.Millisecond)
	}
	if err := first.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	first.cmd.Wait()
	<-published
	atKill := receiver.distinct()
	t.Logf("killed with %d events accepted, %d delivered", len(accepted), atKill)

	second := startHookd(t, bin, args...)
	deadline := time.Now().Add(90 * time.Second)
	for {
		receiver.mu.Lock()
		missing := 0
		for _, id := range accepted {
			if receiver.received[id] == 0 {
				missing++
			}
		}
		total := receiver.total
		receiver.mu.Unlock()
		if missing == 0 {
			t.Logf("all %d accepted events delivered after the restart (%d deliveries so far)", len(accepted), total)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d accepted events never arrived", missing, len(accepted))
		}
		time.Sleep(100 * time.Millisecond)
	}

	// The deliveries in flight at the kill come back when their lease ends;
	// wait for the queue to drain to count them.
	c = client.New(second.url, testAdminKey)
	for {
		w, err := c.Webhook(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		if w.QueueLength == 0 && w.RetryQueueLength == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue did not drain: %d queued, %d to retry", w.QueueLength, w.RetryQueueLength)
		}
		time.Sleep(100 * time.Millisecond)
	}
	receiver.mu.Lock()
	defer receiver.mu.Unlock()
	// A duplicate is a second request for one event. (Events of the batch
	// that the kill cut off may be stored and delivered although their
	// answer never came: more deliveries than accepted events, but no
	// duplicates.)
	dup := 0
	for _, n := range receiver.received {
		dup += n - 1
	}
	t.Logf("queue drained: %d deliveries for %d events (%d accepted), %d duplicates (the attempts in flight at the kill)",
		receiver.total, len(receiver.received), len(accepted), dup)
	// In flight means sent and not yet recorded (inFlight).
	if limit := inFlight(8); dup > limit {
		t.Errorf("%d duplicates, more than the %d attempts that can be in flight", dup, limit)
	}
}
