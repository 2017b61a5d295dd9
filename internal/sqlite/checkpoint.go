package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// SQLite copies the WAL back into the database file at a checkpoint. Left
// to itself it checkpoints in the connection that commits, once the log
// holds 1,000 pages: with one writer, every publish and completion then
// waits while it copies those pages and syncs both files (on 2 cores with
// single events, the writer was busy 93 to 98 % of the time, and had become
// what held the intake back). Here a checkpointer does it, on a connection
// of its own.
//
// Its checkpoints are PASSIVE: they copy what they can and never wait for,
// nor block, the writer or a reader. But the log starts over only when
// every frame is copied and no reader is in the log, which a checkpoint
// running beside a busy writer never sees (it ends behind the frames
// committed meanwhile), nor one beside readers that keep reading (each
// began in a log not yet all copied, and reads in it). So once the log
// holds maxWALFrames, the checkpointer runs a RESTART checkpoint on the
// writer's connection, between two transactions: it copies the last
// frames (few: it runs only after a PASSIVE that left at most
// maxRestartCopy uncopied, never behind a long reader's backlog) and waits
// for the readers in the log to finish (the new ones read the database file), so that the
// next transaction starts the log over. The writer waits meanwhile, at
// most restartWait for the readers. After a restart that gives up, the
// checkpointer skips a round before the next, then twice as many plus one
// each time, up to maxRestartSkip: a long reader (an export) makes the log
// grow, as SQLite's own checkpoints let it, without holding the writer up
// more than a few times a second; a log that starts over (frames below
// maxWALFrames) resets the skips. A checkpoint that a reader kept from
// copying every frame is tried again after idleCheckpointEvery, commits
// or not.
//
// The writer still checkpoints by itself past walAutocheckpoint pages, as
// SQLite would: should the checkpointer fail, the log's frames are copied
// back all the same.
const (
	// maxWALFrames is the log's length (about 16 MB of 4 KB pages) past
	// which the checkpointer copies the last frames on the writer.
	maxWALFrames = 4096
	// walAutocheckpoint is the writer's own checkpoint, the fallback.
	walAutocheckpoint = 4 * maxWALFrames
	// Each checkpoint that copies syncs both files. The checkpointer
	// checkpoints once busyCommits commits wait for it, at most every
	// checkpointEvery; fewer, after idleCheckpointEvery: a few commits a
	// second need no more than SQLite's own checkpoint would do for them.
	busyCommits         = 32
	checkpointEvery     = 20 * time.Millisecond
	idleCheckpointEvery = time.Second
	// restartWait bounds the RESTART's wait for readers (its busy_timeout).
	restartWait    = 20 * time.Millisecond
	maxRestartSkip = 32 // rounds
	// maxRestartCopy is the most frames a PASSIVE may leave uncopied for a
	// RESTART to follow it: the RESTART copies those on the writer.
	maxRestartCopy = 256
)

// checkpointer runs the checkpoints of a store's WAL (see above).
type checkpointer struct {
	conn    *sql.DB // one connection of its own
	writer  *sql.DB // the store's writer, for the copy that lets the log start over
	commits atomic.Int64
	wake    chan struct{} // the first commit since the last checkpoint, or the busyCommits-th
	ctx     context.Context
	cancel  context.CancelFunc // ends ctx, at close
	done    chan struct{}
}

func startCheckpointer(conn, writer *sql.DB) *checkpointer {
	conn.SetMaxOpenConns(1)
	ctx, cancel := context.WithCancel(context.Background())
	c := &checkpointer{conn: conn, writer: writer, wake: make(chan struct{}, 1), ctx: ctx, cancel: cancel,
		done: make(chan struct{})}
	go c.run()
	return c
}

// committed tells the checkpointer that the writer committed.
func (c *checkpointer) committed() {
	if n := c.commits.Add(1); n == 1 || n == busyCommits {
		c.signal()
	}
}

// signal wakes run, unless a wake-up waits already.
func (c *checkpointer) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// run checkpoints after commits (see the constants) until close. A
// checkpoint that fails is tried again after the next commit.
func (c *checkpointer) run() {
	defer close(c.done)
	timer := time.NewTimer(idleCheckpointEvery)
	defer timer.Stop()
	wait := func(d time.Duration, wake <-chan struct{}) bool {
		timer.Reset(d)
		select {
		case <-c.ctx.Done():
			return false
		case <-wake:
		case <-timer.C:
		}
		return true
	}
	var restarts restartPolicy
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-c.wake:
		}
		if c.commits.Load() < busyCommits && !wait(idleCheckpointEvery, c.wake) {
			return
		}
		c.commits.Store(0)
		frames, copied, _ := checkpoint(c.ctx, c.conn, "PASSIVE") // frames 0 or -1 if it could not run
		if restarts.due(frames, copied) {
			restarts.ran(c.restart())
		}
		if copied < frames { // a reader held some back: try again
			c.signal()
		}
		if !wait(checkpointEvery, nil) {
			return
		}
	}
}

// restartPolicy decides after each PASSIVE whether a RESTART follows it
// (see above): it skips rounds after restarts that gave up.
type restartPolicy struct {
	backoff int // rounds to skip after the last restart that gave up
	skip    int // rounds left to skip
}

// due tells whether a RESTART follows a PASSIVE that found frames in the
// log and copied copied of them (-1 and -1: it could not run).
func (p *restartPolicy) due(frames, copied int) bool {
	switch {
	case frames < 0:
		return false // the PASSIVE could not run (the writer checkpointed): nothing is known of the log
	case frames < maxWALFrames:
		p.backoff, p.skip = 0, 0 // the log started over: a long one later is another
		return false
	case frames-copied > maxRestartCopy:
		// A reader holds these back: the RESTART would wait for it, or,
		// were it to end meanwhile, copy them all on the writer. The
		// PASSIVE goes on until it copies them.
		return false
	case p.skip > 0:
		p.skip--
		return false
	}
	return true
}

// ran records whether the RESTART that due asked for started the log over.
func (p *restartPolicy) ran(startedOver bool) {
	if startedOver {
		p.backoff = 0
		return
	}
	p.backoff = min(2*p.backoff+1, maxRestartSkip)
	p.skip = p.backoff
}

// restart runs a RESTART checkpoint on the writer's connection, which no
// transaction holds meanwhile, waiting at most restartWait for readers,
// and tells whether it started the log over.
func (c *checkpointer) restart() bool {
	conn, err := c.writer.Conn(c.ctx)
	if err != nil {
		return false
	}
	defer func() {
		// The writer waits for other processes as long as ever (Open); a
		// connection left with the short wait is not used again.
		if _, err := conn.ExecContext(context.WithoutCancel(c.ctx), fmt.Sprintf("PRAGMA busy_timeout = %d", busyTimeout.Milliseconds())); err != nil {
			conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		conn.Close()
	}()
	if _, err := conn.ExecContext(c.ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", restartWait.Milliseconds())); err != nil {
		return false
	}
	_, _, err = checkpoint(c.ctx, conn, "RESTART")
	return err == nil
}

// checkpoint runs a checkpoint of mode on q's connection and returns the
// frames the log held and those copied back by now; a checkpoint that
// another checkpoint, a writer or (RESTART) readers kept from completing
// is errCheckpointBusy.
func checkpoint(ctx context.Context, q querier, mode string) (frames, copied int, err error) {
	var busy int
	err = q.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &frames, &copied)
	if err == nil && busy != 0 {
		return frames, copied, errCheckpointBusy
	}
	return frames, copied, err
}

var errCheckpointBusy = errors.New("sqlite: checkpoint kept from completing by another checkpoint, a writer or a reader")

// close stops the checkpointer and closes its connection.
func (c *checkpointer) close() error {
	c.cancel()
	<-c.done
	return c.conn.Close()
}
