package bench

import (
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestHostileReceivers posts to a receiver of each kind with a client
// that gives up after 300 ms, and checks what the client saw and what the
// receiver counted.
func TestHostileReceivers(t *testing.T) {
	const timeout = 300 * time.Millisecond
	for _, kind := range HostileKinds {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			h, err := StartHostile(kind, 4, time.Minute, timeout/3)
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			client := &http.Client{Timeout: timeout}
			start := time.Now()
			res, err := client.Post("http://"+h.Addr+"/hook/1", "application/json", strings.NewReader(`{}`))
			status := 0
			if err == nil {
				status = res.StatusCode
				// Client.Timeout does not bound a 101's body (the raw
				// connection): that is the point of the kind.
				if status != http.StatusSwitchingProtocols {
					_, err = io.Copy(io.Discard, res.Body)
				}
				res.Body.Close()
			}
			elapsed := time.Since(start)
			var netErr net.Error
			timedOut := errors.As(err, &netErr) && netErr.Timeout()
			switch kind {
			case Fail:
				if err != nil || status != http.StatusInternalServerError {
					t.Errorf("status %d, error %v; want 500", status, err)
				}
			case Reset:
				if err == nil || timedOut {
					t.Errorf("status %d, error %v; want a connection error", status, err)
				}
			case Hang:
				if !timedOut {
					t.Errorf("status %d, error %v; want a timeout", status, err)
				}
			case Slow:
				if status != http.StatusOK || !timedOut {
					t.Errorf("status %d, error %v; want 200, then a timeout reading the body", status, err)
				}
			case Upgrade:
				if status != http.StatusSwitchingProtocols || err != nil {
					t.Errorf("status %d, error %v; want 101", status, err)
				}
			case Late:
				if status != http.StatusOK || err != nil || elapsed < timeout/3 {
					t.Errorf("status %d, error %v after %v; want 200 after %v", status, err, elapsed, timeout/3)
				}
			}
			if elapsed > timeout+time.Second {
				t.Errorf("the client took %v", elapsed)
			}
			client.CloseIdleConnections()
			// The receiver counts the attempt once the client has gone.
			deadline := time.Now().Add(5 * time.Second)
			for h.Stats().Requests == 0 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if s := h.Stats(); s.Requests != 1 || s.Connections != 1 || s.Refused != 0 {
				t.Errorf("stats %+v, want 1 request on 1 connection", s)
			}
		})
	}
}

// TestHostileBounds checks that a receiver refuses connections beyond its
// bound, lets go of a connection after hold, and that Close ends the rest.
func TestHostileBounds(t *testing.T) {
	h, err := StartHostile(Hang, 1, 200*time.Millisecond, 0)
	if err != nil {
		t.Fatal(err)
	}
	first, err := net.Dial("tcp", h.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	io.WriteString(first, "POST /hook/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
	second, err := net.Dial("tcp", h.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	// The second is closed at once, the first after hold.
	for _, c := range []net.Conn{second, first} {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err != io.EOF {
			t.Errorf("read: %v, want EOF", err)
		}
	}
	third, err := net.Dial("tcp", h.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	for deadline := time.Now().Add(5 * time.Second); h.Stats().Connections < 2 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	h.Close()
	third.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := third.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("read after Close: %v, want EOF", err)
	}
	s := h.Stats()
	if s.Connections != 2 || s.Refused != 1 || s.Requests != 1 || s.MaxHeldSeconds < 0.15 {
		t.Errorf("stats %+v, want 2 connections, 1 refused, 1 request held about 0.2 s", s)
	}
}
