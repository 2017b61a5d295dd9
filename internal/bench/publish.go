package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Publisher publishes bench events to hookd through its public API: the
// batch endpoint (POST /api/v2/events/batch) when Batch > 1, else one event
// a request (POST /api/v2/events). Each event's data carries the time it
// was sent, for the receiver's latency figures, and Pad bytes of padding.
type Publisher struct {
	BaseURL string
	APIKey  string
	Event   string
	// Else, when set, names the events beyond a Share of them (spread
	// evenly over the run): the bench's hostile webhooks match only Event.
	Else  string
	Share float64
	Batch int
	Pad   int
	// Lanes, when not 0, puts event seq in lane seq mod Lanes of its data
	// ("lane"): the lanes of webhooks ordered by data.lane.
	Lanes  int
	Client *http.Client

	Accepted  atomic.Int64
	written   atomic.Int64 // events put in a request body so far
	firstSend atomic.Int64
	lastOK    atomic.Int64

	mu        sync.Mutex
	durations []int64 // ns, one per accepted request
}

// RequestPercentiles returns the p50, p99 and maximum duration of the
// publish requests (ms).
func (p *Publisher) RequestPercentiles() (p50, p99, maxMS float64) {
	p.mu.Lock()
	d := slices.Clone(p.durations)
	p.mu.Unlock()
	p50, _, p99, maxMS = Percentiles(d)
	return p50, p99, maxMS
}

// NewPublisher returns a publisher with a client that keeps conns connections alive.
func NewPublisher(baseURL, apiKey string, batch, pad, conns int) *Publisher {
	tr := &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, IdleConnTimeout: time.Minute}
	return &Publisher{BaseURL: strings.TrimSuffix(baseURL, "/"), APIKey: apiKey, Event: "ASSET_ADDED",
		Batch: max(1, batch), Pad: pad, Client: &http.Client{Transport: tr, Timeout: 2 * time.Minute}}
}

// body returns the request body of n events, sent at sent.
func (p *Publisher) body(n int, sent time.Time) []byte {
	pad := strings.Repeat("x", p.Pad)
	var b bytes.Buffer
	b.Grow(n * (80 + p.Pad))
	if p.Batch > 1 {
		b.WriteString(`{"events":[`)
	}
	seq := p.written.Add(int64(n)) - int64(n)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"event":%q,"user_id":%d,"data":{%q:%d,"asset_id":"A%d",`,
			p.eventName(seq+int64(i)), 45, SentField, sent.UnixNano(), i)
		if p.Lanes > 0 {
			fmt.Fprintf(&b, `"lane":%d,`, (seq+int64(i))%int64(p.Lanes))
		}
		fmt.Fprintf(&b, `"pad":%q}}`, pad)
	}
	if p.Batch > 1 {
		b.WriteString(`]}`)
	}
	return b.Bytes()
}

// eventName names the event of sequence number seq: Event for a Share of
// the numbers (those where the running count of Share × seq steps up),
// Else for the others.
func (p *Publisher) eventName(seq int64) string {
	if p.Else == "" || int64(float64(seq+1)*p.Share) > int64(float64(seq)*p.Share) {
		return p.Event
	}
	return p.Else
}

// Send publishes n events (n ≤ Batch) in one request.
func (p *Publisher) Send(ctx context.Context, n int) error {
	path := "/api/v2/events"
	if p.Batch > 1 {
		path = "/api/v2/events/batch"
	}
	now := time.Now()
	p.firstSend.CompareAndSwap(0, now.UnixNano())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.BaseURL+path, bytes.NewReader(p.body(n, now)))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-KEY", p.APIKey)
	res, err := p.Client.Do(req)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("publish: HTTP %d: %.200s", res.StatusCode, body)
	}
	p.Accepted.Add(int64(n))
	end := time.Now().UnixNano()
	p.mu.Lock()
	p.durations = append(p.durations, end-now.UnixNano())
	p.mu.Unlock()
	for {
		cur := p.lastOK.Load()
		if cur >= end || p.lastOK.CompareAndSwap(cur, end) {
			break
		}
	}
	return nil
}

// Window returns when the first request was sent and the last accepted.
func (p *Publisher) Window() (first, last time.Time) {
	return time.Unix(0, p.firstSend.Load()), time.Unix(0, p.lastOK.Load())
}

// FullSpeed publishes total events as fast as hookd accepts them, with
// workers requests in flight.
func (p *Publisher) FullSpeed(ctx context.Context, total, workers int) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				end := next.Add(int64(p.Batch))
				n := min(int64(p.Batch), int64(total)-(end-int64(p.Batch)))
				if n <= 0 {
					return
				}
				if err := p.Send(ctx, int(n)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// AtRate publishes total events at rate events a second: every 10 ms the
// events due by then, in one request (in one request each with Batch 1).
// Requests run concurrently (up to 256), so a slow answer does not slow
// the rate down.
func (p *Publisher) AtRate(ctx context.Context, total int, rate float64) error {
	const tick = 10 * time.Millisecond
	start := time.Now()
	sent := 0
	sem := make(chan struct{}, 256)
	var wg sync.WaitGroup
	var (
		mu       sync.Mutex
		firstErr error
	)
	failed := func() error {
		mu.Lock()
		defer mu.Unlock()
		return firstErr
	}
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	for sent < total {
		due := min(total, int(rate*time.Since(start).Seconds())+1)
		for sent < due {
			n := min(due-sent, p.Batch)
			sent += n
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				wg.Wait()
				return ctx.Err()
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				if err := p.Send(ctx, n); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}()
		}
		if failed() != nil {
			break
		}
		select {
		case <-ticker.C:
		case <-ctx.Done():
			wg.Wait()
			return ctx.Err()
		}
	}
	wg.Wait()
	return failed()
}
