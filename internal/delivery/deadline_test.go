package delivery

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

// deadlineMargin is how far past its timeout an attempt may end on a
// loaded machine.
const deadlineMargin = 1500 * time.Millisecond

// Receivers that hold an attempt as long as hookd lets them. Each reads the
// request, misbehaves, and returns once hookd hangs up.

// answerSwitchingProtocols answers 101 Switching Protocols and then says
// nothing.
func answerSwitchingProtocols(c net.Conn) {
	if readRequest(c) != nil {
		return
	}
	io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
	<-whileOpen(c)
}

// neverAnswer accepts the connection and never answers.
func neverAnswer(c net.Conn) { <-whileOpen(c) }

// trickleBody sends a 200's headers and prefix of its body at once, then
// the rest of the body a byte a second.
func trickleBody(prefix int) func(c net.Conn) {
	return func(c net.Conn) {
		if readRequest(c) != nil {
			return
		}
		gone := whileOpen(c)
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", prefix+1000, strings.Repeat("x", prefix))
		for {
			select {
			case <-gone:
				return
			case <-time.After(time.Second):
			}
			if _, err := io.WriteString(c, "x"); err != nil {
				return
			}
		}
	}
}

// resetConnection resets the connection after reading the request.
func resetConnection(c net.Conn) {
	readRequest(c)
	c.(*net.TCPConn).SetLinger(0)
}

// hookdGoroutines returns the stacks of the goroutines of hookd's delivery
// and of its HTTP client's connections.
func hookdGoroutines() []string {
	buf := make([]byte, 4<<20)
	var out []string
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if strings.Contains(g, "net/http.(*persistConn)") || strings.Contains(g, "net/http.(*Transport)") ||
			strings.Contains(g, "hookd/internal/delivery.(*") {
			out = append(out, g)
		}
	}
	return out
}

// TestDeadlineHostileReceivers runs the real pipeline (each store, the
// dispatcher, a sender with a 1 s timeout, one attempt per delivery)
// against receivers on 127.0.0.1 that answer 101 and hold the connection,
// never answer, trickle the body (from its first byte, and past the logged
// part, while hookd drains it) and reset. Every attempt is recorded with
// its class within its timeout plus a margin, and hookd closes every
// connection (none goes back to the pool) and leaves no goroutine behind.
func TestDeadlineHostileReceivers(t *testing.T) {
	if testing.Short() {
		t.Skip("takes a few seconds")
	}
	backends(t, testDeadlineHostileReceivers)
}

func testDeadlineHostileReceivers(t *testing.T, st hookd.Store) {
	ctx := context.Background()
	const timeout = time.Second
	cases := []struct {
		name     string
		serve    func(c net.Conn)
		class    string
		status   int
		body     int  // bytes of response body logged (-1: any)
		deadline bool // the attempt ends at its deadline, not before
	}{
		{"101 and hold", answerSwitchingProtocols, hookd.ClassInformational, 101, 0, false},
		{"never answers", neverAnswer, hookd.ClassTimeout, 0, 0, true},
		{"body a byte a second", trickleBody(0), hookd.ClassTimeout, 200, -1, true},
		{"drain a byte a second", trickleBody(hookd.MaxLoggedBody + 100), hookd.ClassTimeout, 200, hookd.MaxLoggedBody, true},
		{"reset", resetConnection, hookd.ClassReset, 0, 0, false},
	}
	receivers := make([]*rawReceiver, len(cases))
	ids := make([]int64, len(cases))
	for i, c := range cases {
		receivers[i] = newRawReceiver(t, "127.0.0.1:0", c.serve)
		wh := &hookd.Webhook{Name: c.name, HTTPURL: receivers[i].URL(), HTTPMethod: http.MethodPost, TriggerEvents: []string{"ASSET_ADDED"}}
		if err := st.CreateWebhook(ctx, wh, ""); err != nil {
			t.Fatal(err)
		}
		ids[i] = wh.ID
	}
	if g := hookdGoroutines(); len(g) != 0 {
		t.Fatalf("%d goroutines of hookd before the test:\n%s", len(g), strings.Join(g, "\n\n"))
	}

	stop := startDispatcher(t, Config{Store: st, Concurrency: len(cases),
		Sender:       NewSender(SenderConfig{Timeout: timeout, Concurrency: len(cases), AllowPrivate: loopback}),
		Policy:       NewPolicy(nil), // one attempt: it fails for good
		PollInterval: 50 * time.Millisecond, ShutdownGrace: time.Second, Logger: quietLogger()})
	if _, err := st.PublishEvents(ctx, []*hookd.Event{{Event: "ASSET_ADDED", Data: json.RawMessage(`{"asset_id":1}`)}}); err != nil {
		t.Fatal(err)
	}
	failed := make([][]*hookd.LogEntry, len(cases))
	waitFor(t, 10*time.Second, "every attempt to be recorded", func() bool {
		for i := range cases {
			var err error
			if failed[i], err = st.Log(ctx, ids[i], false, 1, 10); err != nil {
				t.Fatal(err)
			}
			if len(failed[i]) == 0 {
				return false
			}
		}
		return true
	})
	// hookd hangs up on every receiver: no connection stays open, in the
	// idle pool or otherwise.
	waitFor(t, 2*time.Second, "hookd to close every connection", func() bool {
		for _, rr := range receivers {
			if rr.open() != 0 {
				return false
			}
		}
		return true
	})
	stop()
	var left []string
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if left = hookdGoroutines(); len(left) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(left) != 0 {
		t.Errorf("%d goroutines of hookd left after it stopped:\n%s", len(left), strings.Join(left, "\n\n"))
	}

	for i, c := range cases {
		if len(failed[i]) != 1 {
			t.Errorf("%s: %d failed attempts, want 1", c.name, len(failed[i]))
			continue
		}
		e := failed[i][0]
		t.Logf("%s: %s after %s: %s", c.name, e.ErrorClass, e.Duration, e.Error)
		if e.ErrorClass != c.class || e.HTTPStatus != c.status || (c.body >= 0 && len(e.ResponseBody) != c.body) {
			t.Errorf("%s: class %q, status %d, %d bytes of body logged; want %q, %d, %d",
				c.name, e.ErrorClass, e.HTTPStatus, len(e.ResponseBody), c.class, c.status, c.body)
		}
		if e.Duration > timeout+deadlineMargin {
			t.Errorf("%s: the attempt took %s with a %s timeout", c.name, e.Duration, timeout)
		}
		if c.deadline && e.Duration < timeout-50*time.Millisecond {
			t.Errorf("%s: the attempt ended after %s, before its %s deadline", c.name, e.Duration, timeout)
		}
	}
}

// TestDeadlineShutdownGrace stops the dispatcher while attempts, whose
// timeout is far longer than the shutdown grace, hang on receivers that
// answer 101 and hold, never answer or trickle the body: Run returns
// within the grace plus a margin, having closed every connection.
func TestDeadlineShutdownGrace(t *testing.T) {
	if testing.Short() {
		t.Skip("takes a few seconds")
	}
	backends(t, testDeadlineShutdownGrace)
}

func testDeadlineShutdownGrace(t *testing.T, st hookd.Store) {
	ctx := context.Background()
	const grace = time.Second
	serves := []func(net.Conn){answerSwitchingProtocols, neverAnswer, trickleBody(0)}
	receivers := make([]*rawReceiver, len(serves))
	for i, serve := range serves {
		receivers[i] = newRawReceiver(t, "127.0.0.1:0", serve)
		wh := &hookd.Webhook{Name: fmt.Sprint("hostile ", i), HTTPURL: receivers[i].URL(), HTTPMethod: http.MethodPost, TriggerEvents: []string{"ASSET_ADDED"}}
		if err := st.CreateWebhook(ctx, wh, ""); err != nil {
			t.Fatal(err)
		}
	}
	stop := startDispatcher(t, Config{Store: st, Concurrency: 2 * len(serves),
		Sender:       NewSender(SenderConfig{Timeout: time.Minute, Concurrency: 2 * len(serves), AllowPrivate: loopback}),
		Policy:       &Policy{Schedule: []time.Duration{100 * time.Millisecond}},
		Lease:        2 * time.Minute,
		PollInterval: 50 * time.Millisecond, ShutdownGrace: grace, Logger: quietLogger()})
	events := []*hookd.Event{{Event: "ASSET_ADDED", Data: json.RawMessage(`{"n":1}`)}, {Event: "ASSET_ADDED", Data: json.RawMessage(`{"n":2}`)}}
	if _, err := st.PublishEvents(ctx, events); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "an attempt on every receiver", func() bool {
		for _, rr := range receivers {
			if rr.accepted.Load() == 0 {
				return false
			}
		}
		return true
	})
	if took := stop(); took > grace+deadlineMargin {
		t.Errorf("Run returned %s after its context ended, with a %s grace", took, grace)
	} else {
		t.Logf("Run returned %s after its context ended (grace %s)", took, grace)
	}
	waitFor(t, 2*time.Second, "hookd to close every connection", func() bool {
		for _, rr := range receivers {
			if rr.open() != 0 {
				return false
			}
		}
		return true
	})
}
