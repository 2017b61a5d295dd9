package sqlite

import (
	"context"
	"database/sql"
	"time"
)

// SQLite copies the WAL back into the database file at a checkpoint. Left
// to itself it checkpoints in the connection that commits, once the log
// holds 1,000 pages: with one writer, every publish and completion then
// waits while it copies those pages and syncs both files (on 2 cores with
// single events, the writer was busy 98 % of the time and had become what
// held the intake back). The writer does not checkpoint here
// (wal_autocheckpoint 0): a checkpointer does, on a connection of its own.
//
// Its checkpoints are PASSIVE: they copy what they can and never wait for,
// nor block, the writer or a reader. But the log starts over only when a
// transaction begins with every frame copied, which a checkpoint running
// beside a busy writer never leaves (it ends behind the frames committed
// meanwhile): so once the log holds maxWALFrames, the checkpointer copies
// the last frames on the writer's connection, between two transactions,
// and the next one starts the log over. That copy is short, the rest
// being copied already; the log stays near maxWALFrames pages however
// long the writes go on. (A reader that holds an old snapshot keeps the
// log from starting over, as it does with SQLite's own checkpoints.)
const (
	// maxWALFrames bounds the log (about 16 MB of 4 KB pages).
	maxWALFrames = 4096
	// checkpointEvery spaces the checkpoints: each syncs both files.
	checkpointEvery = 20 * time.Millisecond
)

// checkpointer runs the checkpoints of a store's WAL (see above).
type checkpointer struct {
	conn   *sql.DB // one connection of its own
	writer *sql.DB // the store's writer, for the copy that lets the log start over
	wake   chan struct{}
	stop   chan struct{}
	done   chan struct{}
}

func startCheckpointer(conn, writer *sql.DB) *checkpointer {
	conn.SetMaxOpenConns(1)
	c := &checkpointer{conn: conn, writer: writer, wake: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c
}

// committed tells the checkpointer that the writer committed.
func (c *checkpointer) committed() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// run checkpoints after commits, at most once every checkpointEvery, until
// close. A checkpoint that fails is tried again after the next commit.
func (c *checkpointer) run() {
	defer close(c.done)
	ctx := context.Background()
	pause := time.NewTimer(checkpointEvery)
	defer pause.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-c.wake:
		}
		var busy, frames, copied int
		err := c.conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &copied)
		if err == nil && frames >= maxWALFrames {
			c.copyLast(ctx)
		}
		pause.Reset(checkpointEvery)
		select {
		case <-c.stop:
			return
		case <-pause.C:
		}
	}
}

// copyLast checkpoints on the writer's connection, which no transaction
// holds meanwhile: every frame is copied, and the next transaction starts
// the log over.
func (c *checkpointer) copyLast(ctx context.Context) {
	conn, err := c.writer.Conn(ctx)
	if err != nil {
		return
	}
	defer conn.Close()
	conn.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)")
}

// close stops the checkpointer and closes its connection; SQLite
// checkpoints once more when the store's last connection closes.
func (c *checkpointer) close() error {
	close(c.stop)
	<-c.done
	return c.conn.Close()
}
