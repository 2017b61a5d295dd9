package bench

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// HostileKind is one way a receiver misbehaves.
type HostileKind string

const (
	Hang    HostileKind = "hang"    // reads the request and never answers
	Slow    HostileKind = "slow"    // answers 200 headers, then one body byte a second
	Upgrade HostileKind = "upgrade" // answers 101 Switching Protocols, then stays silent
	Reset   HostileKind = "reset"   // reads the request, then resets the connection
	Fail    HostileKind = "fail"    // answers 500 (and keeps the connection alive)
	Late    HostileKind = "late"    // answers 200, but only just before the attempt would time out
)

// HostileKinds are every kind, in the order the bench mixes them.
var HostileKinds = []HostileKind{Hang, Slow, Upgrade, Reset, Fail, Late}

// DefaultHostileKinds are the kinds the bench mixes unless told: all but
// Late, which came later, so that runs with the default stay comparable.
var DefaultHostileKinds = HostileKinds[:5]

// ParseHostileKinds reads a comma-separated list of kinds.
func ParseHostileKinds(s string) ([]HostileKind, error) {
	var kinds []HostileKind
	seen := map[HostileKind]bool{}
	for name := range strings.SplitSeq(s, ",") {
		k := HostileKind(strings.TrimSpace(name))
		if !slices.Contains(HostileKinds, k) {
			return nil, fmt.Errorf("unknown hostile kind %q (kinds: %s)", k, strings.ReplaceAll(JoinHostileKinds(HostileKinds), ",", ", "))
		}
		if seen[k] {
			return nil, fmt.Errorf("hostile kind %q given twice", k)
		}
		seen[k] = true
		kinds = append(kinds, k)
	}
	return kinds, nil
}

// JoinHostileKinds is kinds as ParseHostileKinds reads them.
func JoinHostileKinds(kinds []HostileKind) string {
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = string(k)
	}
	return strings.Join(names, ",")
}

// HostileStats are what a hostile receiver saw.
type HostileStats struct {
	Kind        HostileKind `json:"kind"`
	Connections int64       `json:"connections"`
	Requests    int64       `json:"requests"` // attempts hookd made of it
	Refused     int64       `json:"refused"`  // connections closed at once: MaxConns were open
	// HeldSeconds sums, over the requests, the time from reading one to
	// answering it in full or to the connection's end: the attempt time
	// hookd's workers spent on this receiver. MaxHeldSeconds is the longest.
	HeldSeconds    float64 `json:"held_seconds"`
	MaxHeldSeconds float64 `json:"max_held_seconds"`
}

// HostileReceiver is a receiver of one kind on 127.0.0.1, written on raw
// TCP so that it can break HTTP as real receivers do. It is bounded: at
// most maxConns connections at once (more are closed as soon as
// accepted) and each for at most hold; Close ends them all.
type HostileReceiver struct {
	Kind HostileKind
	Addr string

	ln     net.Listener
	hold   time.Duration
	late   time.Duration // Late's wait before each answer
	slots  chan struct{}
	wg     sync.WaitGroup
	closed chan struct{} // closed by Close

	mu      sync.Mutex
	open    map[net.Conn]struct{}
	stats   HostileStats
	stopped bool
}

// StartHostile starts a receiver of kind; a Late one waits late before
// each answer (the bench: a tenth less than hookd's timeout).
func StartHostile(kind HostileKind, maxConns int, hold, late time.Duration) (*HostileReceiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	h := &HostileReceiver{Kind: kind, Addr: ln.Addr().String(), ln: ln, hold: hold, late: late,
		slots: make(chan struct{}, maxConns), closed: make(chan struct{}),
		open: map[net.Conn]struct{}{}, stats: HostileStats{Kind: kind}}
	h.wg.Go(h.accept)
	return h, nil
}

func (h *HostileReceiver) accept() {
	for {
		c, err := h.ln.Accept()
		if err != nil {
			return
		}
		select {
		case h.slots <- struct{}{}:
		default:
			c.Close()
			h.mu.Lock()
			h.stats.Refused++
			h.mu.Unlock()
			continue
		}
		h.mu.Lock()
		if h.stopped {
			h.mu.Unlock()
			c.Close()
			return
		}
		h.open[c] = struct{}{}
		h.stats.Connections++
		h.mu.Unlock()
		h.wg.Go(func() {
			defer func() {
				// The slot is free before the peer sees the connection end.
				h.mu.Lock()
				delete(h.open, c)
				h.mu.Unlock()
				<-h.slots
				c.Close()
			}()
			h.serve(c)
		})
	}
}

// serve misbehaves on one connection until the peer gives up, hold
// passes or the receiver closes.
func (h *HostileReceiver) serve(c net.Conn) {
	c.SetDeadline(time.Now().Add(h.hold))
	r := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(r)
		if err != nil {
			return
		}
		if _, err := io.Copy(io.Discard, req.Body); err != nil {
			return
		}
		read := time.Now()
		switch h.Kind {
		case Late:
			wait := time.NewTimer(h.late)
			select {
			case <-wait.C:
			case <-h.closed:
				wait.Stop()
				return
			}
			_, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
			h.record(read)
			if err != nil {
				return
			}
			continue
		case Fail:
			_, err := io.WriteString(c, "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n")
			h.record(read)
			if err != nil {
				return
			}
			continue
		case Reset:
			if tc, ok := c.(*net.TCPConn); ok {
				tc.SetLinger(0) // Close sends RST
			}
		case Upgrade:
			io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
			io.Copy(io.Discard, r) // until the peer closes
		case Slow:
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1048576\r\n\r\n")
			done := make(chan struct{})
			var writer sync.WaitGroup
			writer.Go(func() {
				t := time.NewTicker(time.Second)
				defer t.Stop()
				for {
					select {
					case <-done:
						return
					case <-t.C:
						if _, err := c.Write([]byte{'x'}); err != nil {
							return
						}
					}
				}
			})
			io.Copy(io.Discard, r) // until the peer closes
			close(done)
			writer.Wait()
		case Hang:
			io.Copy(io.Discard, r) // until the peer closes
		}
		h.record(read)
		return
	}
}

func (h *HostileReceiver) record(read time.Time) {
	held := time.Since(read).Seconds()
	h.mu.Lock()
	h.stats.Requests++
	h.stats.HeldSeconds += held
	h.stats.MaxHeldSeconds = max(h.stats.MaxHeldSeconds, held)
	h.mu.Unlock()
}

// Stats returns the receiver's figures so far.
func (h *HostileReceiver) Stats() HostileStats {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.stats
}

// Close stops accepting, closes every connection and waits for their
// goroutines.
func (h *HostileReceiver) Close() error {
	h.mu.Lock()
	if h.stopped {
		h.mu.Unlock()
		return nil
	}
	h.stopped = true
	close(h.closed)
	err := h.ln.Close()
	for c := range h.open {
		c.Close()
	}
	h.mu.Unlock()
	h.wg.Wait()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}
