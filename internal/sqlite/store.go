// Package sqlite keeps hookd's data in one SQLite file: the embedded default
// storage, with the queue of deliveries in the same database as the events so
// that an accepted event is never lost.
//
// SQLite allows one writer at a time. Rather than let concurrent writers race
// for the file lock and fail with SQLITE_BUSY, Store writes through a pool of
// exactly one connection, so writers queue in Go, and reads through a
// separate pool that WAL lets run beside the writer.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/hookd/hookd/internal/storeopt"
	"runtime"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/alarm"
)

// busyTimeout is how long a connection waits for another process (a second
// hookd, the CLI) to release the write lock before giving up with
// SQLITE_BUSY. Inside one process the single writer connection means it is
// never needed.
const busyTimeout = 10 * time.Second

// Store implements hookd.Store on SQLite.
type Store struct {
	w *sql.DB // one connection: every write and every read-modify-write
	r *sql.DB // read-only pool for plain reads

	checkpoints *checkpointer // copies the WAL back, off the writer's path

	wake chan struct{}
	// fanOutWake tells FanOutWakeup of publishes that left deliveries to
	// FanOut
	fanOutWake chan struct{}
	alarm      alarm.Alarm // rings wake when a webhook held back by a claim may be served

	// stmts holds the hot path's statements, prepared once on the writer's
	// connection at Open and read-only after (prepared).
	stmts map[string]*sql.Stmt

	closeOnce sync.Once
	closeErr  error

	clock   hookd.Clock
	observe hookd.QueryObserver // nil: statements are not observed

	circuit        hookd.CircuitPolicy
	observeCircuit hookd.CircuitObserver // nil: circuit changes are not told
	fanOutChunk    int                   // the most deliveries a transaction creates

	subs hookd.SubscriptionCache // what publishing matches events with (subscriptions)

	// chunkDone, when set, is told the rows each transaction of the
	// history's upkeep changed (tests check that they stay small).
	chunkDone func(rows int64)
}

var _ hookd.Store = (*Store)(nil)

// Open opens (creating if needed) the database at path and applies the
// migrations. path is a file name: an in-memory database cannot be shared by
// the writer and the readers.
func Open(ctx context.Context, path string, opts ...storeopt.Option) (*Store, error) {
	if path == "" || path == ":memory:" {
		return nil, fmt.Errorf("sqlite: %q: a database file path is required", path)
	}
	if strings.Contains(path, "?") {
		// The driver reads its settings from after the '?'; a path of our
		// own with one would lose them (or be a shared-memory URI).
		return nil, fmt.Errorf("sqlite: %q: the path must not contain '?'", path)
	}
	o := storeopt.New(opts)
	s := &Store{wake: make(chan struct{}, 1), fanOutWake: make(chan struct{}, 1), stmts: map[string]*sql.Stmt{},
		clock: o.Clock, observe: o.ObserveQuery, circuit: o.Circuit, observeCircuit: o.ObserveCircuit, fanOutChunk: o.FanOutChunk}
	common := fmt.Sprintf("_busy_timeout=%d&_foreign_keys=1&_synchronous=NORMAL", busyTimeout.Milliseconds())

	// The writer sets WAL (a property of the file, so it holds for the
	// readers too) and begins its transactions IMMEDIATE: a transaction that
	// reads and then writes takes the write lock up front, so it waits under
	// busy_timeout instead of failing when another process wrote meanwhile.
	// It leaves checkpoints to the checkpointer but past walAutocheckpoint
	// pages (checkpoint.go).
	w, err := s.open(path + "?" + common + fmt.Sprintf("&_journal_mode=WAL&_txlock=immediate&_pragma=wal_autocheckpoint(%d)", walAutocheckpoint))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, mapErr(err))
	}

	r, err := s.open(path + "?" + common + "&_query_only=1")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)

	cp, err := s.open(path + "?" + common)
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}

	s.w, s.r, s.checkpoints = w, r, startCheckpointer(cp, w)
	if err := s.Migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	s.checkpoints.committed()
	if err := s.prepareHot(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Ping checks that both pools answer.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.w.PingContext(ctx); err != nil {
		return mapErr(err)
	}
	return mapErr(s.r.PingContext(ctx))
}

// CheckWrite commits a write of one row of its own, on the writer's
// connection: a database file that cannot be written (read-only, disk
// full) fails it, as it would fail a publish.
func (s *Store) CheckWrite(ctx context.Context) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, writeCheck, ms(s.clock.Now()))
		return err
	})
}

const writeCheck = `INSERT INTO write_checks (id, checked_at) VALUES (1, ?)
	ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at`

// Close closes the database. It may be called more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		checkpoints := s.checkpoints.close()
		for _, st := range s.stmts {
			st.Close()
		}
		s.closeErr = errors.Join(checkpoints, s.r.Close(), s.w.Close())
	})
	return s.closeErr
}

// Wakeup delivers a value after a commit that made deliveries due, so idle
// workers need not poll often. The channel holds one value: wakeups that
// arrive while one is pending merge into it.
func (s *Store) Wakeup() <-chan struct{} { return s.wake }

// FanOutWakeup delivers a value when a publish has left deliveries to
// FanOut.
func (s *Store) FanOutWakeup() <-chan struct{} { return s.fanOutWake }

func (s *Store) notify() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// TryLead always grants the lead: hookd runs one process on a SQLite file
// (a second process on the same file, such as the CLI, does no
// maintenance), so there is no one to elect among. Maintenance is
// idempotent, so a second hookd serve on the same file would only repeat
// it.
func (s *Store) TryLead(ctx context.Context, name string) (release func(), ok bool, err error) {
	return func() {}, true, nil
}

var _ hookd.Leader = (*Store)(nil)

// inTx runs fn in a write transaction and commits it when fn succeeds.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return mapErr(err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return mapErr(err)
	}
	if err := tx.Commit(); err != nil {
		return mapErr(err)
	}
	s.checkpoints.committed()
	return nil
}

// exec runs a write of one statement on the writer's connection, outside
// a transaction of inTx's, and tells the checkpointer of its commit.
func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := s.w.ExecContext(ctx, query, args...)
	if err == nil {
		s.checkpoints.committed()
	}
	return res, err
}

// prepareHot prepares the hot path's statements (hotQueries on the
// writer's connection, readQueries on the read pool), once, after the
// migrations.
func (s *Store) prepareHot(ctx context.Context) error {
	for _, q := range hotQueries {
		st, err := s.w.PrepareContext(ctx, q)
		if err != nil {
			return fmt.Errorf("sqlite: prepare: %w", err)
		}
		s.stmts[q] = st
	}
	for _, q := range readQueries {
		st, err := s.r.PrepareContext(ctx, q)
		if err != nil {
			return fmt.Errorf("sqlite: prepare: %w", err)
		}
		s.stmts[q] = st
	}
	return nil
}

// prepared returns query as a statement of tx. A query of hotQueries was
// prepared once on the writer's connection and is reused by every
// transaction (SQLite parses it once, not on every claim and completion),
// one of readQueries once on each connection of the read pool; another is
// prepared in tx.
func (s *Store) prepared(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	if st, ok := s.stmts[query]; ok {
		return tx.StmtContext(ctx, st), nil
	}
	return tx.PrepareContext(ctx, query)
}

// inReadTx runs fn in a read transaction on the read pool, so that the
// several queries that make up one answer see the same snapshot.
func (s *Store) inReadTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return mapErr(err)
	}
	defer tx.Rollback()
	return mapErr(fn(tx))
}

// querier is what *sql.DB, *sql.Tx and *sql.Conn share, so that a read can
// run alone, inside a transaction or on a connection held.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// mapErr turns the errors callers can act on into hookd's: a closed
// database, a lock held too long by another process, a failing or full
// disk or a file that became read-only is
// ErrUnavailable (retry later, answer 503), whatever the driver says.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_CANTOPEN,
			sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY:
			return fmt.Errorf("%w: %w", hookd.ErrUnavailable, err)
		}
	}
	// database/sql does not export its "database is closed" error.
	if errors.Is(err, sql.ErrConnDone) || strings.Contains(err.Error(), "sql: database is closed") {
		return fmt.Errorf("%w: %w", hookd.ErrUnavailable, err)
	}
	return err
}

// isUnique reports whether err is a UNIQUE or PRIMARY KEY violation.
func isUnique(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// Times are stored as unix milliseconds and read back in UTC.

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func nullMS(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: true}
}

// jsonMS is t in milliseconds for a JSON argument: nil (null) when t is.
func jsonMS(t *time.Time) *int64 {
	if t == nil {
		return nil
	}
	return new(t.UnixMilli())
}

func timePtr(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMS(v.Int64)
	return &t
}

func nullString(s *string) sql.NullString {
	if s == nil {
		return sql.NullString{}
	}
	return sql.NullString{String: *s, Valid: true}
}

func stringPtr(v sql.NullString) *string {
	if !v.Valid {
		return nil
	}
	s := v.String
	return &s
}

func nullInt(v *int64) sql.NullInt64 {
	if v == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: *v, Valid: true}
}

func intPtr(v sql.NullInt64) *int64 {
	if !v.Valid {
		return nil
	}
	i := v.Int64
	return &i
}

// affected returns ErrNotFound when res changed no row.
func affected(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return hookd.ErrNotFound
	}
	return nil
}

// notFound turns sql.ErrNoRows into ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return hookd.ErrNotFound
	}
	return err
}
