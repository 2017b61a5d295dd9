// Package postgres is the PostgreSQL implementation of hookd.Store, with
// pgx. Several hookd processes may share one database: the delivery queue
// is claimed with FOR UPDATE SKIP LOCKED, new work is announced to every
// process with NOTIFY hookd_work, and TryLead elects one maintenance leader
// with a session advisory lock.
//
// The store works in the connection's search_path, so one database can hold
// several independent hookd schemas (the tests use one schema each).
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"github.com/hookd/hookd/internal/storeopt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/puddle/v2"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/alarm"
	"github.com/hookd/hookd/internal/backoff"
	"github.com/hookd/hookd/internal/migrate"
)

// NotifyChannel is the LISTEN/NOTIFY channel on which every process learns
// that deliveries may have become due.
const NotifyChannel = "hookd_work"

//go:embed migrations/*.sql
var migrationFS embed.FS

// Store is a hookd.Store on PostgreSQL.
type Store struct {
	pool    *pgxpool.Pool
	logPool *pgxpool.Pool   // Log's: pool, or a read replica's (storeopt.WithLogReplica)
	connCfg *pgx.ConnConfig // for the dedicated LISTEN and leader connections
	wake    chan struct{}
	// fanOutWake tells FanOutWakeup of publishes that left deliveries to
	// FanOut
	fanOutWake chan struct{}
	// outboxWake tells the outbox's relay of rows committed (OutboxChannel)
	outboxWake chan struct{}
	alarm      alarm.Alarm // rings wake when a webhook held back by a claim may be served
	cancel     context.CancelFunc
	done       chan struct{}
	mu         sync.Mutex
	leaders    map[*pgx.Conn]struct{}
	closed     bool
	closeErr   error
	clock      hookd.Clock
	observe    hookd.QueryObserver // nil: statements are not observed

	circuit        hookd.CircuitPolicy
	observeCircuit hookd.CircuitObserver // nil: circuit changes are not told
	fanOutChunk    int                   // the most deliveries a transaction creates

	subs hookd.SubscriptionCache // what publishing matches events with (subscriptions)
}

var (
	_ hookd.Store  = (*Store)(nil)
	_ hookd.Leader = (*Store)(nil)
)

// Open connects to the database at url (a postgres:// URL or a key=value
// DSN), applies the migrations and starts listening for work.
func Open(ctx context.Context, url string, opts ...storeopt.Option) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return OpenConfig(ctx, cfg, opts...)
}

// OpenConfig is Open with a parsed pool configuration, for callers that set
// pool sizes or runtime parameters (search_path) themselves.
func OpenConfig(ctx context.Context, cfg *pgxpool.Config, opts ...storeopt.Option) (*Store, error) {
	cfg = cfg.Copy()
	o := storeopt.New(opts)
	s := &Store{
		wake:           make(chan struct{}, 1),
		fanOutWake:     make(chan struct{}, 1),
		outboxWake:     make(chan struct{}, 1),
		done:           make(chan struct{}),
		leaders:        make(map[*pgx.Conn]struct{}),
		clock:          o.Clock,
		observe:        o.ObserveQuery,
		circuit:        o.Circuit,
		fanOutChunk:    o.FanOutChunk,
		observeCircuit: o.ObserveCircuit,
	}
	if s.observe != nil {
		cfg.ConnConfig.Tracer = observed(cfg.ConnConfig.Tracer, s.observe)
	}
	after := cfg.AfterConnect
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		registerUTC(c)
		if after != nil {
			return after(ctx, c)
		}
		return nil
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, wrapErr(err)
	}
	s.logPool = pool
	if o.LogReplica != "" {
		if s.logPool, err = replicaPool(ctx, o.LogReplica, cfg); err != nil {
			pool.Close()
			return nil, err
		}
	}
	lctx, cancel := context.WithCancel(context.Background())
	s.pool, s.connCfg, s.cancel = pool, cfg.ConnConfig.Copy(), cancel
	if err := s.Migrate(ctx); err != nil {
		cancel()
		close(s.done)
		s.closePools()
		return nil, err
	}
	go s.listen(lctx)
	return s, nil
}

// registerUTC makes timestamptz values scan as UTC times.
func registerUTC(c *pgx.Conn) {
	c.TypeMap().RegisterType(&pgtype.Type{
		Name:  "timestamptz",
		OID:   pgtype.TimestamptzOID,
		Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC},
	})
}

// Pool returns the connection pool, for diagnostics and tests.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Migrate applies the embedded migrations that schema_migrations does not
// record yet, in order, in one transaction; a database that a newer hookd
// migrated further is refused. A transaction-level advisory lock (keyed on
// the schema) makes processes that start together take turns.
func (s *Store) Migrate(ctx context.Context) error {
	if err := migrate.Run(ctx, migrationDriver{pool: s.pool, clock: s.clock}, migrationFS); err != nil {
		return fmt.Errorf("postgres: migrate: %w", wrapErr(err))
	}
	return nil
}

// migrationDriver is PostgreSQL's migrate.Driver. schema_migrations records
// each migration by name ("0001_init"), as hookd always has here.
type migrationDriver struct {
	pool  *pgxpool.Pool
	clock hookd.Clock
}

func (d migrationDriver) Locked(ctx context.Context, fn func(migrate.Tx) error) error {
	return pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('hookd.migrate.' || coalesce(current_schema(), ''), 0))`); err != nil {
			return err
		}
		return fn(migrationTx{tx: tx, clock: d.clock})
	})
}

type migrationTx struct {
	tx    pgx.Tx
	clock hookd.Clock
}

func (t migrationTx) Versions(ctx context.Context) ([]int, error) {
	if _, err := t.tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    text PRIMARY KEY,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`); err != nil {
		return nil, err
	}
	rows, err := t.tx.Query(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, err
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	versions := make([]int, len(names))
	for i, name := range names {
		if versions[i], err = migrate.ParseVersion(name); err != nil {
			return nil, fmt.Errorf("schema_migrations: %w", err)
		}
	}
	return versions, nil
}

func (t migrationTx) Apply(ctx context.Context, m migrate.Migration) error {
	// Simple protocol: a migration file holds several statements.
	if _, err := t.tx.Exec(ctx, m.SQL, pgx.QueryExecModeSimpleProtocol); err != nil {
		return err
	}
	_, err := t.tx.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`, m.Name, t.clock.Now())
	return err
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	return wrapErr(s.pool.Ping(ctx))
}

// CheckWrite commits a write of one row of its own: a database that
// cannot take one (a standby, read-only, its disk full) fails it, as it
// would fail a publish.
func (s *Store) CheckWrite(ctx context.Context) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO write_checks (id, checked_at) VALUES (1, $1)
		ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at`, ms(s.clock.Now()))
	return wrapErr(err)
}

// Close stops listening, releases any leadership and closes the pool.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return s.closeErr
	}
	s.closed = true
	leaders := s.leaders
	s.leaders = nil
	s.mu.Unlock()

	s.cancel()
	<-s.done
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for c := range leaders {
		unlead(ctx, c)
	}
	s.closePools()
	return nil
}

// replicaPool connects to the read replica at url, set up as primary's
// connections are (UTC times, observed statements).
func replicaPool(ctx context.Context, url string, primary *pgxpool.Config) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: log replica: %w", err)
	}
	cfg.AfterConnect, cfg.ConnConfig.Tracer = primary.AfterConnect, primary.ConnConfig.Tracer
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: log replica: %w", wrapErr(err))
	}
	return pool, nil
}

func (s *Store) closePools() {
	if s.logPool != s.pool {
		s.logPool.Close()
	}
	s.pool.Close()
}

// Wakeup delivers a value when deliveries may have become due: after this
// process commits new work, and when any process sends NOTIFY hookd_work.
func (s *Store) Wakeup() <-chan struct{} { return s.wake }

// FanOutWakeup delivers a value when a publish of this process has left
// deliveries to FanOut.
func (s *Store) FanOutWakeup() <-chan struct{} { return s.fanOutWake }

func (s *Store) wakeup() { signal(s.wake) }

// signal puts a value in c (of capacity 1) unless one waits there already.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// listen keeps a dedicated connection LISTENing on NotifyChannel and turns
// notifications into wakeups. It reconnects with backoff when the
// connection drops, and wakes the workers after each reconnection, since
// notifications may have been missed meanwhile.
func (s *Store) listen(ctx context.Context) {
	defer close(s.done)
	reconnect := backoff.Backoff{First: 100 * time.Millisecond, Max: 10 * time.Second, Factor: 2}
	first := true
	for ctx.Err() == nil {
		conn, err := s.connectListener(ctx)
		if err == nil {
			if !first {
				s.wakeup()
			}
			// Rows committed while hookd was down, or while it was not
			// listening, wait in the outbox.
			signal(s.outboxWake)
			first = false
			reconnect.Reset()
			for {
				n, err := conn.WaitForNotification(ctx)
				if err != nil {
					break
				}
				if n.Channel == OutboxChannel {
					signal(s.outboxWake)
				} else {
					s.wakeup()
				}
			}
			cctx, cancel := context.WithTimeout(context.Background(), time.Second)
			conn.Close(cctx)
			cancel()
		}
		if reconnect.Wait(ctx) != nil {
			return
		}
	}
}

func (s *Store) connectListener(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, s.connCfg.Copy())
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+NotifyChannel+"; LISTEN "+OutboxChannel); err != nil {
		conn.Close(context.Background())
		return nil, err
	}
	return conn, nil
}

// TryLead tries to become the leader called name among the processes that
// share this database schema, with a session-level pg_try_advisory_lock on
// a dedicated connection. When ok, the caller leads until it calls release
// (or the Store closes, or that connection drops: leadership lasts as long
// as the session, so long-running leaders should call TryLead again for
// each round of work rather than hold it for days). When another process
// leads, ok is false and err nil.
func (s *Store) TryLead(ctx context.Context, name string) (release func(), ok bool, err error) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return nil, false, wrapErr(errClosed)
	}
	conn, err := pgx.ConnectConfig(ctx, s.connCfg.Copy())
	if err != nil {
		return nil, false, wrapErr(err)
	}
	if err := conn.QueryRow(ctx,
		`SELECT pg_try_advisory_lock(hashtextextended('hookd.lead.' || coalesce(current_schema(), '') || '.' || $1, 0))`,
		name).Scan(&ok); err != nil || !ok {
		conn.Close(context.Background())
		return nil, false, wrapErr(err)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		conn.Close(context.Background())
		return nil, false, wrapErr(errClosed)
	}
	s.leaders[conn] = struct{}{}
	s.mu.Unlock()
	var once sync.Once
	release = func() {
		once.Do(func() {
			s.mu.Lock()
			_, mine := s.leaders[conn]
			delete(s.leaders, conn)
			s.mu.Unlock()
			if !mine {
				return // Close already ended the session
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			unlead(ctx, conn)
		})
	}
	return release, true, nil
}

// unlead releases a leader's lock and closes its connection. The explicit
// unlock makes the lock free when unlead returns; closing alone would free
// it only once the server has noticed the session end.
func unlead(ctx context.Context, conn *pgx.Conn) {
	conn.Exec(ctx, `SELECT pg_advisory_unlock_all()`)
	conn.Close(ctx)
}

// wrapErr maps pgx errors to hookd's: no rows is ErrNotFound, a lost or
// refused connection is ErrUnavailable (the API answers 503).
func wrapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%w: %w", hookd.ErrNotFound, err)
	}
	if unavailable(err) {
		return fmt.Errorf("%w: %w", hookd.ErrUnavailable, err)
	}
	return err
}

func unavailable(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false // the caller gave up; not the database's fault
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true // the database did not answer in time
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return retryableCode(pgErr.Code)
	}
	if errors.Is(err, puddle.ErrClosedPool) || errors.Is(err, errClosed) {
		return true // the store was closed: the service is shutting down
	}
	if pgconn.SafeToRetry(err) || pgconn.Timeout(err) {
		return true
	}
	// A connection that the server or the network closed under a query:
	// pgconn returns the read's EOF as it is.
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, net.ErrClosed) {
		return true
	}
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		return true
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}
	return strings.Contains(err.Error(), "conn closed")
}

// retryableCode reports whether a PostgreSQL error code says "not now":
// the server cannot take the statement or the connection at the moment,
// and the same request may succeed later.
func retryableCode(code string) bool {
	switch {
	case strings.HasPrefix(code, "08"), // connection exception
		strings.HasPrefix(code, "53"),  // insufficient resources: too many connections, disk full, out of memory
		strings.HasPrefix(code, "57P"), // shutting down, starting up, session ended by the server
		code == "57014",                // query_canceled: statement_timeout, or cancelled at a deadline
		code == "55000",                // object_not_in_prerequisite_state: "database is not currently accepting connections"
		code == "55006",                // object_in_use: the database is being dropped or renamed
		code == "55P03",                // lock_not_available: lock_timeout
		code == "40001",                // serialization_failure
		code == "40P01",                // deadlock_detected
		code == "25006":                // read_only_sql_transaction: a standby, or a primary in read-only mode
		return true
	}
	return false
}

var errClosed = errors.New("postgres: store closed")

func isCode(err error, code string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == code
}

const (
	codeUniqueViolation     = "23505"
	codeForeignKeyViolation = "23503"
)

// ms is the stored form of a time: UTC, milliseconds.
func ms(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

func msPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := ms(*t)
	return &v
}
