package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hookd/hookd/api"
	"github.com/hookd/hookd/client"
)

// hostileReceiver is a TCP server on 127.0.0.1 that reads each request
// and hands the connection to hold, which misbehaves until hookd hangs up.
type hostileReceiver struct {
	ln       net.Listener
	accepted atomic.Int32
	wg       sync.WaitGroup
}

func newHostileReceiver(t *testing.T, hold func(c net.Conn)) *hostileReceiver {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &hostileReceiver{ln: ln}
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	r.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = true
			mu.Unlock()
			r.wg.Go(func() {
				defer c.Close()
				if _, err := http.ReadRequest(bufio.NewReader(c)); err == nil {
					r.accepted.Add(1)
					hold(c)
				}
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		r.wg.Wait()
	})
	return r
}

// untilClosed reads c until the peer closes it.
func untilClosed(c net.Conn) { io.Copy(io.Discard, c) }

// TestSIGTERMWithHostileReceivers sends SIGTERM to hookd serve while its
// attempts, with a timeout far longer than the shutdown grace, hang on
// receivers that answer 101 and hold the connection, never answer, or send
// their headers and then a body byte a second: hookd exits within the grace
// plus a few seconds.
func TestSIGTERMWithHostileReceivers(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a hookd process")
	}
	t.Parallel()
	bin := buildHookd(t)
	receivers := map[string]*hostileReceiver{
		"101 and hold": newHostileReceiver(t, func(c net.Conn) {
			io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
			untilClosed(c)
		}),
		"never answers": newHostileReceiver(t, untilClosed),
		"body a byte a second": newHostileReceiver(t, func(c net.Conn) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
			gone := make(chan struct{})
			go func() { untilClosed(c); close(gone) }()
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
		}),
	}
	const grace = 2 * time.Second
	p := startHookd(t, bin, "--database", filepath.Join(t.TempDir(), "hookd.db"), "--allow-private", "127.0.0.0/8",
		"--timeout", "60s", "--lease", "90s", "--retry-schedule", "1s,1s,1s", "--concurrency", "8",
		"--shutdown-grace", grace.String())
	ctx := context.Background()
	c := client.New(p.url, testAdminKey)
	for name, r := range receivers {
		if _, err := c.CreateWebhook(ctx, api.NewWebhook{Name: name, HTTPURL: "http://" + r.ln.Addr().String() + "/hook",
			HTTPMethod: "POST", TriggerEvents: []string{"ASSET_ADDED"}}); err != nil {
			t.Fatal(err)
		}
	}
	events := make([]api.Event, 2)
	for i := range events {
		events[i] = api.Event{Event: "ASSET_ADDED", Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i))}
	}
	if _, err := c.PublishBatch(ctx, events); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		waiting := 0
		for _, r := range receivers {
			if r.accepted.Load() == 0 {
				waiting++
			}
		}
		if waiting == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d receivers got no request", waiting)
		}
	}

	exited := make(chan error, 1)
	sent := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	go func() { exited <- p.cmd.Wait() }()
	const limit = grace + 3*time.Second
	select {
	case err := <-exited:
		took := time.Since(sent)
		t.Logf("hookd exited %s after SIGTERM (grace %s): %v", took.Round(time.Millisecond), grace, err)
		if err != nil {
			t.Errorf("hookd exited with %v", err)
		}
		if took > limit {
			t.Errorf("hookd took %s to exit after SIGTERM, more than the grace %s plus 3s", took, grace)
		}
	case <-time.After(limit):
		t.Errorf("hookd still running %s after SIGTERM with a %s grace", limit, grace)
	}
}
