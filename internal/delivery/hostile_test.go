package delivery

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/sqlite/sqlitetest"
)

const hugeBody = 100 << 20 // what the "too large" receivers send: 100 MB

// rawReceiver is a TCP server on addr that hands each connection to serve,
// for receivers that misbehave below HTTP. Close closes the listener and
// every open connection and waits for serve to return.
type rawReceiver struct {
	ln       net.Listener
	accepted atomic.Int32
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[net.Conn]bool
	once     sync.Once
}

func newRawReceiver(t *testing.T, addr string, serve func(c net.Conn)) *rawReceiver {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	rr := &rawReceiver{ln: ln, conns: map[net.Conn]bool{}}
	rr.wg.Add(1)
	go func() {
		defer rr.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			rr.accepted.Add(1)
			rr.mu.Lock()
			rr.conns[c] = true
			rr.mu.Unlock()
			rr.wg.Add(1)
			go func() {
				defer rr.wg.Done()
				defer func() {
					rr.mu.Lock()
					delete(rr.conns, c)
					rr.mu.Unlock()
					c.Close()
				}()
				if serve != nil {
					serve(c)
				}
			}()
		}
	}()
	t.Cleanup(rr.Close)
	return rr
}

// open is how many of rr's connections are open.
func (rr *rawReceiver) open() int {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	return len(rr.conns)
}

func (rr *rawReceiver) URL() string { return "http://" + rr.ln.Addr().String() + "/hook" }

func (rr *rawReceiver) Close() {
	rr.once.Do(func() {
		rr.ln.Close()
		rr.mu.Lock()
		for c := range rr.conns {
			c.Close()
		}
		rr.mu.Unlock()
		rr.wg.Wait()
	})
}

// readRequest reads one request's head and body from c.
func readRequest(c net.Conn) error {
	req, err := http.ReadRequest(bufio.NewReader(c))
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, req.Body)
	return err
}

// whileOpen returns a channel closed when the peer closes c (reading
// whatever it sends meanwhile).
func whileOpen(c net.Conn) <-chan struct{} {
	gone := make(chan struct{})
	go func() {
		io.Copy(io.Discard, c)
		close(gone)
	}()
	return gone
}

// stream writes n bytes of filler to w in 64 KB chunks and returns how many
// it wrote before the reader hung up.
func stream(w io.Writer, n int) int64 {
	chunk := []byte(strings.Repeat("0123456789abcdef", 4096))
	var sent int64
	for sent < int64(n) {
		k, err := w.Write(chunk)
		sent += int64(k)
		if err != nil {
			break
		}
	}
	return sent
}

// resourceWatch samples the heap in use and the goroutine count while a
// test runs.
type resourceWatch struct {
	stop          chan struct{}
	done          chan struct{}
	maxHeap       uint64
	maxGoroutines int
	baseHeap      int
}

func watchResources() *resourceWatch {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	w := &resourceWatch{stop: make(chan struct{}), done: make(chan struct{}),
		baseHeap: int(ms.HeapInuse)}
	go func() {
		defer close(w.done)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			w.maxHeap = max(w.maxHeap, ms.HeapInuse)
			w.maxGoroutines = max(w.maxGoroutines, runtime.NumGoroutine())
			select {
			case <-w.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return w
}

func (w *resourceWatch) Stop() {
	close(w.stop)
	<-w.done
}

// TestHostileReceivers runs the real pipeline (SQLite store, dispatcher,
// sender with a 1 s timeout and a "1s,1s" retry schedule) against receivers
// on 127.0.0.1 that never answer, trickle, send 100 MB, reset, redirect or
// present a bad certificate, and against a name that resolves to the cloud
// metadata address. Each is classified, recorded in the failed log and
// retried per the schedule, while the heap and the goroutine count stay
// bounded and every goroutine is gone at the end.
func TestHostileReceivers(t *testing.T) {
	if testing.Short() {
		t.Skip("takes about 5 s")
	}
	ctx := context.Background()
	baseGoroutines := runtime.NumGoroutine()

	st := sqlitetest.Open(t)

	type hostile struct {
		name   string
		url    string
		status int    // HTTP status of every attempt (0: none)
		class  string // "" for a success
		body   int    // length of the logged response body
		check  func(t *testing.T)
	}
	var cases []*hostile
	add := func(h *hostile) { cases = append(cases, h) }

	// Never answers: reads the request and waits until hookd hangs up.
	silent := newRawReceiver(t, "127.0.0.1:0", func(c net.Conn) { io.Copy(io.Discard, c) })
	add(&hostile{name: "silent", url: silent.URL(), class: hookd.ClassTimeout})

	// Trickles its answer, a byte a second.
	trickle := newRawReceiver(t, "127.0.0.1:0", func(c net.Conn) {
		if readRequest(c) != nil {
			return
		}
		gone := whileOpen(c)
		for _, b := range []byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok") {
			if _, err := c.Write([]byte{b}); err != nil {
				return
			}
			select {
			case <-gone:
				return
			case <-time.After(time.Second):
			}
		}
	})
	add(&hostile{name: "trickle", url: trickle.URL(), class: hookd.ClassTimeout})

	// 100 MB bodies, with a 200 and a 500. hookd logs the first 20 KB and
	// hangs up rather than read the rest.
	var sent200, sent500 atomic.Int64
	huge := func(status int, sent *atomic.Int64) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(status)
			sent.Add(stream(w, hugeBody))
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	huge200 := huge(http.StatusOK, &sent200)
	huge500 := huge(http.StatusInternalServerError, &sent500)
	hugeWritten := func(name string, sent *atomic.Int64, attempts int) func(t *testing.T) {
		return func(t *testing.T) {
			// Loopback socket buffers take a few MB; the rest was never sent.
			if n := sent.Load(); n > int64(attempts)*16<<20 {
				t.Errorf("%s: the receiver wrote %d MB in %d attempts: hookd read the body", name, n>>20, attempts)
			} else {
				t.Logf("%s: the receiver wrote %.1f MB of 100 MB in %d attempts before hookd hung up", name, float64(n)/(1<<20), attempts)
			}
		}
	}
	add(&hostile{name: "huge body 200", url: huge200.URL + "/hook", status: 200, body: hookd.MaxLoggedBody,
		check: hugeWritten("200", &sent200, 1)})
	add(&hostile{name: "huge body 500", url: huge500.URL + "/hook", status: 500, class: hookd.ClassStatus, body: hookd.MaxLoggedBody,
		check: hugeWritten("500", &sent500, 3)})

	// 100 MB of response headers: too large.
	var sentHeaders atomic.Int64
	hugeHeaders := newRawReceiver(t, "127.0.0.1:0", func(c net.Conn) {
		if readRequest(c) != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nX-Flood: ")
		sentHeaders.Add(stream(c, hugeBody))
	})
	add(&hostile{name: "huge headers", url: hugeHeaders.URL(), class: hookd.ClassTooLarge,
		check: hugeWritten("headers", &sentHeaders, 3)})

	// Resets the connection after reading the request.
	reset := newRawReceiver(t, "127.0.0.1:0", func(c net.Conn) {
		readRequest(c)
		c.(*net.TCPConn).SetLinger(0)
	})
	add(&hostile{name: "reset", url: reset.URL(), class: hookd.ClassReset})

	// Redirects, to an allow-listed address and to a forbidden one
	// (127.0.0.2: only 127.0.0.1 is allow-listed here). Neither is followed.
	var allowedHits atomic.Int32
	allowedTarget := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { allowedHits.Add(1) }))
	t.Cleanup(allowedTarget.Close)
	forbiddenTarget := newRawReceiver(t, "127.0.0.2:0", func(c net.Conn) { io.Copy(io.Discard, c) })
	redirect := func(status int, location string) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, location, status)
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	toAllowed := redirect(http.StatusTemporaryRedirect, allowedTarget.URL+"/elsewhere")
	toForbidden := redirect(http.StatusFound, forbiddenTarget.URL())
	add(&hostile{name: "redirect to an allowed address", url: toAllowed.URL + "/hook", status: 307, class: hookd.ClassRedirect,
		body: -1, check: func(t *testing.T) {
			if n := allowedHits.Load(); n != 0 {
				t.Errorf("the allowed redirect target got %d requests", n)
			}
		}})
	add(&hostile{name: "redirect to a forbidden address", url: toForbidden.URL + "/hook", status: 302, class: hookd.ClassRedirect,
		body: -1, check: func(t *testing.T) {
			if n := forbiddenTarget.accepted.Load(); n != 0 {
				t.Errorf("the forbidden redirect target accepted %d connections", n)
			}
		}})

	// A certificate nobody trusts.
	var tlsHits atomic.Int32
	badTLS := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { tlsHits.Add(1) }))
	badTLS.Config.ErrorLog = log.New(io.Discard, "", 0)
	badTLS.StartTLS()
	t.Cleanup(badTLS.Close)
	add(&hostile{name: "bad certificate", url: badTLS.URL + "/hook", class: hookd.ClassTLS, check: func(t *testing.T) {
		if n := tlsHits.Load(); n != 0 {
			t.Errorf("the request went through a bad certificate %d times", n)
		}
	}})

	// A name that resolves to the cloud metadata address.
	hosts := map[string][]string{"metadata.test": {"169.254.169.254"}}
	add(&hostile{name: "metadata name", url: "http://metadata.test/latest/meta-data/", class: hookd.ClassForbidden})

	allow := netip.MustParsePrefix("127.0.0.1/32")
	sender := NewSender(SenderConfig{
		Timeout:      time.Second,
		Concurrency:  len(cases),
		AllowPrivate: []netip.Prefix{allow},
		Resolver:     testResolver(hosts),
	})
	preflightRefuses(t, sender, hosts, allow)

	ids := map[*hostile]int64{}
	for _, h := range cases {
		wh := &hookd.Webhook{Name: h.name, HTTPURL: h.url, HTTPMethod: http.MethodPost, TriggerEvents: []string{"ASSET_ADDED"}}
		if err := st.CreateWebhook(ctx, wh, ""); err != nil {
			t.Fatal(err)
		}
		ids[h] = wh.ID
	}

	watch := watchResources()
	// A short poll interval claims retries close to their time: the
	// dispatcher wakes itself only for the earliest retry it scheduled.
	stop := startDispatcher(t, Config{Store: st, Sender: sender, Concurrency: len(cases),
		Policy:       &Policy{Schedule: []time.Duration{time.Second, time.Second}, Jitter: DefaultJitter},
		PollInterval: 50 * time.Millisecond, Logger: quietLogger()})
	start := time.Now()
	pub, err := st.PublishEvents(ctx, []*hookd.Event{{Event: "ASSET_ADDED", Data: json.RawMessage(`{"asset_id":1}`)}})
	if err != nil || pub[0].Deliveries != len(cases) {
		t.Fatalf("published %+v, %v", pub, err)
	}

	// Every delivery ends (nothing queued or waiting for a retry).
	waitFor(t, 20*time.Second, "every delivery to end", func() bool {
		for _, h := range cases {
			wh, err := st.Webhook(ctx, ids[h])
			if err != nil {
				t.Fatal(err)
			}
			if wh.QueueLength != 0 || wh.RetryQueueLength != 0 {
				return false
			}
		}
		return true
	})
	took := time.Since(start)
	stop()
	watch.Stop()
	// With the dispatcher stopped and its idle connections closed, no
	// connection or attempt of hookd's is left: what runs is the receivers'
	// accept loops (one each) and the store's few.
	sender.CloseIdleConnections()
	raws := []*rawReceiver{silent, trickle, hugeHeaders, reset, forbiddenTarget}
	servers := []*httptest.Server{huge200, huge500, allowedTarget, toAllowed, toForbidden, badTLS}
	receivers := len(raws) + len(servers)
	var idle int
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		idle = runtime.NumGoroutine()
		if idle <= baseGoroutines+receivers+4 || time.Now().After(deadline) {
			break
		}
	}
	if idle > baseGoroutines+receivers+4 {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines with hookd idle, from %d and %d receivers:\n%s", idle, baseGoroutines, receivers, buf[:runtime.Stack(buf, true)])
	}

	for _, h := range cases {
		t.Run(h.name, func(t *testing.T) {
			wh, err := st.Webhook(ctx, ids[h])
			if err != nil {
				t.Fatal(err)
			}
			if wh.QueueLength != 0 || wh.RetryQueueLength != 0 {
				t.Errorf("queue %d, retry queue %d after the delivery ended", wh.QueueLength, wh.RetryQueueLength)
			}
			success, _ := st.Log(ctx, ids[h], true, 1, 50)
			failed, _ := st.Log(ctx, ids[h], false, 1, 50)
			if h.class == "" {
				if len(failed) != 0 || len(success) != 1 {
					t.Fatalf("%d failed, %d successful attempts; want one success", len(failed), len(success))
				}
				e := success[0]
				if e.Attempt != 1 || e.HTTPStatus != h.status || len(e.ResponseBody) != h.body || e.Duration >= time.Second {
					t.Errorf("success: attempt %d, status %d, body %d bytes, %s", e.Attempt, e.HTTPStatus, len(e.ResponseBody), e.Duration)
				}
			} else {
				if len(success) != 0 || len(failed) != 3 {
					t.Fatalf("%d failed, %d successful attempts; want 3 failed", len(failed), len(success))
				}
				// Newest first: attempts 3, 2, 1.
				for i, e := range failed {
					attempt := 3 - i
					if e.Attempt != attempt || e.ErrorClass != h.class || e.HTTPStatus != h.status || e.Error == "" {
						t.Errorf("attempt %d: attempt %d, class %q, status %d, error %q; want class %q, status %d",
							attempt, e.Attempt, e.ErrorClass, e.HTTPStatus, e.Error, h.class, h.status)
					}
					if h.body >= 0 && len(e.ResponseBody) != h.body {
						t.Errorf("attempt %d: logged %d bytes of body, want %d", attempt, len(e.ResponseBody), h.body)
					}
					if e.Duration > 2500*time.Millisecond { // 1 s and a loaded machine's delays
						t.Errorf("attempt %d took %s with a 1s timeout", attempt, e.Duration)
					}
					if attempt == 3 {
						if e.NextAttemptAt != nil {
							t.Errorf("the last attempt scheduled a retry at %v", e.NextAttemptAt)
						}
						continue
					}
					// Retried 1 s ±20 % after the attempt ended, and not before.
					if e.NextAttemptAt == nil {
						t.Errorf("attempt %d scheduled no retry", attempt)
						continue
					}
					delay := e.NextAttemptAt.Sub(e.CreatedAt.Add(e.Duration))
					if delay < 800*time.Millisecond-2*time.Millisecond || delay > 1200*time.Millisecond+2*time.Millisecond {
						t.Errorf("attempt %d: retry %s after it ended, want 1s ±20%%", attempt, delay)
					}
					if next := failed[i-1]; next.CreatedAt.Before(e.NextAttemptAt.Add(-time.Millisecond)) {
						t.Errorf("attempt %d ran at %v, before its retry time %v", attempt+1, next.CreatedAt, e.NextAttemptAt)
					}
				}
			}
			if h.check != nil {
				h.check(t)
			}
		})
	}

	// Tear everything down: no goroutine may be left behind.
	sender.CloseIdleConnections()
	for _, rr := range raws {
		rr.Close()
	}
	for _, srv := range servers {
		srv.Close()
	}
	st.Close()
	var left int
	deadline := time.Now().Add(5 * time.Second)
	for {
		left = runtime.NumGoroutine()
		if left <= baseGoroutines || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("%d hostile receivers in %s: heap in use %.1f MB at the start, at most %.1f MB; "+
		"goroutines %d at the start, at most %d, %d once hookd was idle, %d at the end",
		len(cases), took.Round(time.Millisecond), float64(watch.baseHeap)/(1<<20), float64(watch.maxHeap)/(1<<20),
		baseGoroutines, watch.maxGoroutines, idle, left)
	if watch.maxHeap > uint64(watch.baseHeap)+32<<20 {
		t.Errorf("heap in use reached %.1f MB (from %.1f MB): a response body was buffered",
			float64(watch.maxHeap)/(1<<20), float64(watch.baseHeap)/(1<<20))
	}
	if watch.maxGoroutines > baseGoroutines+100 {
		t.Errorf("%d goroutines at most, from %d", watch.maxGoroutines, baseGoroutines)
	}
	if left > baseGoroutines {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines left, from %d:\n%s", left, baseGoroutines, buf[:runtime.Stack(buf, true)])
	}
}

// quietLogger drops the dispatcher's log: thirty expected failures are noise.
func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// A receiver bounds neither the error text of an attempt (a malformed
// status line of 60 KB, which Go quotes control byte by control byte, made
// one of 246 KB, logged and stored on every attempt) nor the time it takes:
// an answer of empty gzip members, which decompress to nothing, held the
// attempt to its timeout while hookd read the wire (133 MB a second), as
// hookd asks for no compression now.
func TestHostileReceiversBoundErrorsAndCompression(t *testing.T) {
	rr := newRawReceiver(t, "127.0.0.1:0", func(c net.Conn) {
		if readRequest(c) != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1"+strings.Repeat("\x01", 60<<10)+"\r\n\r\n")
		<-whileOpen(c)
	})
	r := attemptOnce(testSender(5*time.Second), context.Background(), testTarget(rr.URL()), testDelivery())
	if r.Success || len(r.Error) > 4<<10 {
		t.Errorf("a malformed status line: success %v, an error of %d bytes", r.Success, len(r.Error))
	}

	var member bytes.Buffer
	zw := gzip.NewWriter(&member)
	zw.Close()
	chunk := bytes.Repeat(member.Bytes(), 4096)
	asked := make(chan string, 1)
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		asked <- r.Header.Get("Accept-Encoding")
		w.Header().Set("Content-Encoding", "gzip")
		w.WriteHeader(http.StatusOK)
		for i := 0; i < 10_000; i++ { // 200 MB at most, then the test's receiver ends
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	r = attemptOnce(testSender(2*time.Second), context.Background(), testTarget(rc.URL), testDelivery())
	if enc := <-asked; enc != "" {
		t.Errorf("Accept-Encoding %q, want none", enc)
	}
	if !r.Success {
		t.Errorf("a 200 with an endless compressed body: %s %s", r.ErrorClass, r.Error)
	}
}
