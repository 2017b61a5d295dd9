package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/hookd/hookd"
)

// open returns a pool on dsn. With an observer (WithQueryObserver), its
// connections report every statement, transaction begin and end to it:
// the driver offers no statement hook, so the connector wraps them, as
// sqlite.NewConnector documents.
func (s *Store) open(dsn string) (*sql.DB, error) {
	c, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	if s.observe != nil {
		c = observedConnector{Connector: c, observe: s.observe}
	}
	return sql.OpenDB(c), nil
}

type observedConnector struct {
	driver.Connector
	observe hookd.QueryObserver
}

// driverConn is what every connection of modernc.org/sqlite implements.
// The wrapper forwards all of it: database/sql falls back to weaker paths
// (no context, no validation) for what a wrapper hides.
type driverConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

func (c observedConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	dc, ok := conn.(driverConn)
	if !ok {
		conn.Close()
		return nil, fmt.Errorf("sqlite: the driver's connection %T cannot be observed", conn)
	}
	return &observedConn{driverConn: dc, observe: c.observe}, nil
}

type observedConn struct {
	driverConn
	observe hookd.QueryObserver
}

// Unwrap lets the driver's helpers (sqlite.Limit) reach the connection.
func (c *observedConn) Unwrap() driver.Conn { return c.driverConn }

// report tells the observer of a statement that started at start.
func report(observe hookd.QueryObserver, query string, start time.Time, err error) {
	if errors.Is(err, driver.ErrSkip) {
		return // not run: database/sql runs it another way, observed there
	}
	if refused(err) {
		err = nil
	}
	observe(query, time.Since(start), err)
}

// refused reports whether the database refused a statement by a
// constraint that the store answers as ErrConflict or ErrNotFound.
func refused(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return true
	}
	return false
}

func (c *observedConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *observedConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	st, err := c.driverConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	ds, ok := st.(driverStmt)
	if !ok {
		st.Close()
		return nil, fmt.Errorf("sqlite: the driver's statement %T cannot be observed", st)
	}
	return &observedStmt{driverStmt: ds, query: query, observe: c.observe}, nil
}

func (c *observedConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *observedConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	start := time.Now()
	tx, err := c.driverConn.BeginTx(ctx, opts)
	report(c.observe, "BEGIN", start, err)
	if err != nil {
		return nil, err
	}
	return observedTx{tx: tx, observe: c.observe}, nil
}

func (c *observedConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	start := time.Now()
	r, err := c.driverConn.ExecContext(ctx, query, args)
	report(c.observe, query, start, err)
	return r, err
}

func (c *observedConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	start := time.Now()
	rows, err := c.driverConn.QueryContext(ctx, query, args)
	if err != nil {
		report(c.observe, query, start, err)
		return nil, err
	}
	return &observedRows{Rows: rows, query: query, start: start, observe: c.observe}, nil
}

// driverStmt is what every statement of modernc.org/sqlite implements.
type driverStmt interface {
	driver.Stmt
	driver.StmtExecContext
	driver.StmtQueryContext
}

// observedStmt is a prepared statement (the store prepares its hot path's
// once) that reports each run.
type observedStmt struct {
	driverStmt
	query   string
	observe hookd.QueryObserver
}

func (s *observedStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	start := time.Now()
	r, err := s.driverStmt.ExecContext(ctx, args)
	report(s.observe, s.query, start, err)
	return r, err
}

func (s *observedStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	start := time.Now()
	rows, err := s.driverStmt.QueryContext(ctx, args)
	if err != nil {
		report(s.observe, s.query, start, err)
		return nil, err
	}
	return &observedRows{Rows: rows, query: s.query, start: start, observe: s.observe}, nil
}

// observedRows reports its query when closed: SQLite does most of a
// query's work as its rows are read.
type observedRows struct {
	driver.Rows
	query   string
	start   time.Time
	observe hookd.QueryObserver
	err     error // the first error of Next
}

func (r *observedRows) Next(dest []driver.Value) error {
	err := r.Rows.Next(dest)
	if err != nil && err != io.EOF && r.err == nil {
		r.err = err
	}
	return err
}

func (r *observedRows) Close() error {
	err := r.Rows.Close()
	report(r.observe, r.query, r.start, errors.Join(r.err, err))
	return err
}

type observedTx struct {
	tx      driver.Tx
	observe hookd.QueryObserver
}

func (t observedTx) Commit() error {
	start := time.Now()
	err := t.tx.Commit()
	report(t.observe, "COMMIT", start, err)
	return err
}

func (t observedTx) Rollback() error {
	start := time.Now()
	err := t.tx.Rollback()
	report(t.observe, "ROLLBACK", start, err)
	return err
}

var _ driverConn = (*observedConn)(nil)
