package main

import (
	"container/list"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"

	"github.com/hookd/hookd"
)

// Bounds of the default --max-connections (see defaultMaxConnections).
const (
	// maxConnectionsCeiling bounds the memory that connections waiting
	// for their request can take (about 12 KB each, measured: 120 MB).
	maxConnectionsCeiling = 10000
	// maxConnectionsFloor is the least default, for a tiny descriptor
	// limit: below it the API could not serve its own health checks
	// beside a few clients.
	maxConnectionsFloor = 64
	// descriptorsBesideConnections are kept for the database (its pool,
	// or SQLite's files), the log, DNS and the runtime.
	descriptorsBesideConnections = 256
)

// defaultMaxConnections is the default of --max-connections: what the
// process's open-file limit (nofile) leaves once the delivery connections
// (up to concurrency in flight, and up to twice that kept alive between
// attempts) and descriptorsBesideConnections are set aside, at most
// maxConnectionsCeiling and at least maxConnectionsFloor.
func defaultMaxConnections(nofile uint64, concurrency int) int {
	reserve := uint64(3*concurrency + descriptorsBesideConnections)
	if nofile <= reserve {
		return maxConnectionsFloor
	}
	return int(min(max(nofile-reserve, maxConnectionsFloor), maxConnectionsCeiling))
}

// openFileLimit is the process's limit of open descriptors (Go raises the
// soft limit to the hard one at start).
func openFileLimit() (uint64, error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, err
	}
	return rl.Cur, nil
}

// connLimiter is a listener that keeps at most max connections of srv
// open. At the cap, a new connection takes the place of the connection
// that has waited longest without a request running: one whose client
// has not finished sending its request headers (a half-sent or silent
// connection) or an idle keep-alive one. So clients that hold connections
// open without sending requests cannot take every descriptor of the
// process, and health checks and real clients still get in. When every
// connection runs a request, the new one waits (in the kernel's backlog
// and then here) until one of them ends or goes idle.
type connLimiter struct {
	net.Listener
	max    int
	logger *slog.Logger
	clock  hookd.Clock

	mu       sync.Mutex
	changed  *sync.Cond // a connection closed or went idle, or the listener closed
	open     int
	closed   bool
	waiting  list.List // *limitedConn with no request running, longest waiting first
	shed     int       // connections closed to make room since the last log line
	loggedAt time.Time
}

// limitConnections returns ln capped at max connections of srv; it sets
// srv.ConnState to follow which connections run a request.
func limitConnections(ln net.Listener, srv *http.Server, max int, logger *slog.Logger, clock hookd.Clock) *connLimiter {
	l := &connLimiter{Listener: ln, max: max, logger: logger, clock: clock}
	l.changed = sync.NewCond(&l.mu)
	srv.ConnState = l.connState
	return l
}

// limitedConn is a connection the limiter counts.
type limitedConn struct {
	net.Conn
	l       *connLimiter
	waiting *list.Element // in l.waiting; nil while a request runs
	closed  bool
}

func (l *connLimiter) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for l.open >= l.max && !l.closed {
		if oldest := l.waiting.Front(); oldest != nil {
			l.shedLocked(oldest.Value.(*limitedConn))
			continue
		}
		l.changed.Wait()
	}
	if l.closed {
		c.Close()
		return nil, net.ErrClosed
	}
	l.open++
	lc := &limitedConn{Conn: c, l: l}
	lc.waiting = l.waiting.PushBack(lc)
	return lc, nil
}

// shedLocked closes c to make room, and logs it at most once a minute.
func (l *connLimiter) shedLocked(c *limitedConn) {
	l.forgetLocked(c)
	c.Conn.Close() // the server's goroutine reading it ends
	l.shed++
	if now := l.clock.Now(); now.Sub(l.loggedAt) >= time.Minute {
		l.logger.Warn("connection limit reached: closing the connections that waited longest without sending a request",
			"max_connections", l.max, "closed", l.shed)
		l.loggedAt, l.shed = now, 0
	}
}

// forgetLocked stops counting c.
func (l *connLimiter) forgetLocked(c *limitedConn) {
	if c.closed {
		return
	}
	c.closed = true
	l.open--
	if c.waiting != nil {
		l.waiting.Remove(c.waiting)
		c.waiting = nil
	}
	l.changed.Signal()
}

// connState follows the server's connections: a request runs from
// StateActive (its headers are read) until StateIdle; a connection
// waiting for its first request is StateNew, already in l.waiting.
func (l *connLimiter) connState(conn net.Conn, state http.ConnState) {
	c, ok := conn.(*limitedConn)
	if !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if c.closed {
		return
	}
	switch state {
	case http.StateActive, http.StateHijacked:
		if c.waiting != nil {
			l.waiting.Remove(c.waiting)
			c.waiting = nil
		}
	case http.StateIdle:
		if c.waiting == nil {
			c.waiting = l.waiting.PushBack(c)
			l.changed.Signal()
		}
	}
}

// Open returns the number of connections open.
func (l *connLimiter) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open
}

func (l *connLimiter) Close() error {
	l.mu.Lock()
	l.closed = true
	l.changed.Broadcast()
	l.mu.Unlock()
	return l.Listener.Close()
}

func (c *limitedConn) Close() error {
	c.l.mu.Lock()
	c.l.forgetLocked(c)
	c.l.mu.Unlock()
	return c.Conn.Close()
}

// CloseWrite lets the server end its answer before closing (it does so
// after an error answer such as 431), as it does on a bare TCP connection.
func (c *limitedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
