// Package bench measures hookd end to end: a receiver that records every
// delivery, a publisher, the raw-client limit, process figures and the
// report. cmd/hookd's bench command puts them together.
package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// RawPrefix starts the webhook-id of the raw client's requests, which the
// receiver counts apart from hookd's deliveries.
const RawPrefix = "raw_"

// SentField is the key of the event data field that holds the time
// (UnixNano) the publisher sent the event, from which the receiver
// measures the latency of each delivery.
const SentField = "sent"

// Receiver is the bench's webhook receiver: it answers 200 (or 500 to a
// FailRate fraction of requests) and records each webhook-id: attempts,
// first success, latency from the event's sent time to that success.
type Receiver struct {
	failRate    float64
	maxAttempts int // attempts after which a delivery that never succeeded has failed for good

	mu            sync.Mutex
	ids           map[string]*idState
	delivered     int64
	duplicates    int64
	attempts      int64
	failed        int64 // attempts answered 500
	failedGood    int64 // ids that failed maxAttempts times without a success
	raw           int64
	first, last   int64   // UnixNano of the first and last successful delivery
	lastDuplicate int64   // UnixNano of the last duplicate
	latencies     []int64 // ns, one per delivered id
	badRequests   int64   // no webhook-id or no sent time
	bufs          sync.Pool
	startedCPU    time.Duration
	startedClock  time.Time
}

type idState struct {
	attempts int32
	ok       bool
}

// NewReceiver returns a receiver that fails failRate of requests with 500;
// maxAttempts is the attempts hookd makes before failing a delivery for
// good (0: unknown).
func NewReceiver(failRate float64, maxAttempts int) *Receiver {
	return &Receiver{
		failRate: failRate, maxAttempts: maxAttempts, ids: make(map[string]*idState, 1<<16),
		bufs:       sync.Pool{New: func() any { return new(bytes.Buffer) }},
		startedCPU: CPUTime(), startedClock: time.Now(),
	}
}

// ServeHTTP records a delivery (any path but /_stats and /_reset).
func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/_stats":
		rc.serveStats(w, r)
		return
	}
	now := time.Now().UnixNano()
	buf := rc.bufs.Get().(*bytes.Buffer)
	buf.Reset()
	_, err := buf.ReadFrom(r.Body)
	body := buf.Bytes()
	id := r.Header.Get("webhook-id")
	if err != nil || id == "" {
		rc.bufs.Put(buf)
		rc.mu.Lock()
		rc.badRequests++
		rc.mu.Unlock()
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if strings.HasPrefix(id, RawPrefix) {
		rc.bufs.Put(buf)
		rc.mu.Lock()
		rc.raw++
		rc.mu.Unlock()
		return
	}
	sent, ok := sentTime(body)
	rc.bufs.Put(buf)
	fail := rc.failRate > 0 && rand.Float64() < rc.failRate

	rc.mu.Lock()
	rc.attempts++
	st := rc.ids[id]
	if st == nil {
		st = &idState{}
		rc.ids[id] = st
	}
	st.attempts++
	switch {
	case fail:
		rc.failed++
		if !st.ok && rc.maxAttempts > 0 && int(st.attempts) == rc.maxAttempts {
			rc.failedGood++
		}
	case st.ok:
		rc.duplicates++
		rc.lastDuplicate = now
	default:
		st.ok = true
		rc.delivered++
		if rc.first == 0 {
			rc.first = now
		}
		rc.last = now
		if ok {
			rc.latencies = append(rc.latencies, now-sent)
		} else {
			rc.badRequests++
		}
	}
	rc.mu.Unlock()
	if fail {
		w.WriteHeader(http.StatusInternalServerError)
	}
}

// sentTime reads the "sent" field of the data of a delivery body.
func sentTime(body []byte) (int64, bool) {
	i := bytes.Index(body, []byte(`"`+SentField+`":`))
	if i < 0 {
		return 0, false
	}
	rest := body[i+len(SentField)+3:]
	j := 0
	for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
		j++
	}
	n, err := strconv.ParseInt(string(rest[:j]), 10, 64)
	return n, err == nil
}

// Stats are the receiver's figures.
type Stats struct {
	Delivered      int64 `json:"delivered"`       // distinct webhook-ids answered 200
	Duplicates     int64 `json:"duplicates"`      // 200 answers to an id that had one already
	Attempts       int64 `json:"attempts"`        // requests from hookd
	FailedAttempts int64 `json:"failed_attempts"` // answered 500 (fail rate)
	FailedForGood  int64 `json:"failed_for_good"` // ids that got their last attempt answered 500
	Distinct       int64 `json:"distinct"`        // distinct ids seen, answered 200 or not
	Raw            int64 `json:"raw"`             // raw-client requests
	BadRequests    int64 `json:"bad_requests"`
	FirstNS        int64 `json:"first_ns"` // first and last success, UnixNano
	LastNS         int64 `json:"last_ns"`
	// LastDuplicateNS is when the last duplicate arrived (a replay's
	// deliveries are duplicates: they carry their first webhook-id).
	LastDuplicateNS int64 `json:"last_duplicate_ns"`
	// Latency percentiles (ms) from the event's sent time to the first 200,
	// with ?final=1 only.
	P50        float64 `json:"p50_ms,omitempty"`
	P90        float64 `json:"p90_ms,omitempty"`
	P99        float64 `json:"p99_ms,omitempty"`
	Max        float64 `json:"max_ms,omitempty"`
	CPUSeconds float64 `json:"cpu_seconds"` // the receiver process's CPU since it started
	PeakRSSMB  float64 `json:"peak_rss_mb"`
}

func (rc *Receiver) serveStats(w http.ResponseWriter, r *http.Request) {
	final := r.URL.Query().Get("final") != ""
	rc.mu.Lock()
	s := Stats{
		Delivered: rc.delivered, Duplicates: rc.duplicates, Attempts: rc.attempts, FailedAttempts: rc.failed,
		FailedForGood: rc.failedGood, Distinct: int64(len(rc.ids)), Raw: rc.raw, BadRequests: rc.badRequests,
		FirstNS: rc.first, LastNS: rc.last, LastDuplicateNS: rc.lastDuplicate,
	}
	var lat []int64
	if final {
		lat = slices.Clone(rc.latencies)
	}
	rc.mu.Unlock()
	if final {
		s.P50, s.P90, s.P99, s.Max = Percentiles(lat)
	}
	s.CPUSeconds = (CPUTime() - rc.startedCPU).Seconds()
	s.PeakRSSMB = PeakRSSMB()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(s)
}

// Percentiles returns p50, p90, p99 and the maximum of ns values, in ms.
func Percentiles(ns []int64) (p50, p90, p99, maxMS float64) {
	if len(ns) == 0 {
		return 0, 0, 0, 0
	}
	slices.Sort(ns)
	at := func(q float64) float64 {
		i := int(q*float64(len(ns)) + 0.5)
		i = min(max(i-1, 0), len(ns)-1)
		return float64(ns[i]) / 1e6
	}
	return at(0.50), at(0.90), at(0.99), float64(ns[len(ns)-1]) / 1e6
}

// ServeReceiver runs a receiver on 127.0.0.1 until stdin closes (the
// parent bench process ended) or ctx ends: the "hookd bench-receiver"
// child. Its first line on stdout is its address.
func ServeReceiver(ctx context.Context, failRate float64, maxAttempts int, stdin io.Reader, stdout io.Writer) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: NewReceiver(failRate, maxAttempts), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "%s\n", ln.Addr().String())
	if f, ok := stdout.(*os.File); ok {
		f.Sync()
	}
	done := make(chan struct{})
	go func() {
		io.Copy(io.Discard, stdin)
		close(done)
	}()
	go func() {
		select {
		case <-ctx.Done():
		case <-done:
		}
		srv.Close()
	}()
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		return err
	}
	return nil
}

// ReceiverProcess is a receiver run as a child process (hookd
// bench-receiver), so that its work does not count in hookd's CPU and
// memory.
type ReceiverProcess struct {
	Addr   string
	stdin  io.WriteCloser
	wait   func() error
	client *http.Client
}

// StartReceiver starts the child with cmd (os.Executable() bench-receiver
// ...); start runs it and returns its stdin and stdout.
func StartReceiver(start func() (stdin io.WriteCloser, stdout io.Reader, wait func() error, err error)) (*ReceiverProcess, error) {
	stdin, stdout, wait, err := start()
	if err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		stdin.Close()
		wait()
		return nil, fmt.Errorf("bench receiver did not start: %w", err)
	}
	return &ReceiverProcess{Addr: strings.TrimSpace(line), stdin: stdin, wait: wait,
		client: &http.Client{Timeout: 30 * time.Second}}, nil
}

// Stats reads the receiver's figures; final adds the latency percentiles.
func (p *ReceiverProcess) Stats(ctx context.Context, final bool) (Stats, error) {
	var s Stats
	url := "http://" + p.Addr + "/_stats"
	if final {
		url += "?final=1"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return s, err
	}
	res, err := p.client.Do(req)
	if err != nil {
		return s, err
	}
	defer res.Body.Close()
	return s, json.NewDecoder(res.Body).Decode(&s)
}

// Stop ends the child.
func (p *ReceiverProcess) Stop() error {
	p.stdin.Close()
	return p.wait()
}
