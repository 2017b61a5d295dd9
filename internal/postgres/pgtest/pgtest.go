// Package pgtest gives tests a PostgreSQL hookd store of their own.
//
// The database comes from the environment variable HOOKD_TEST_POSTGRES_URL
// (e.g. postgres://postgres@127.0.0.1:5432/test); without it the tests
// that need PostgreSQL are skipped, unless HOOKD_REQUIRE_POSTGRES is set
// (CI), which makes them fail instead. Each Open creates a schema with a
// random name, opens a store whose search_path is that schema, and drops
// the schema (CASCADE) when the test ends, so tests can run in parallel on
// one database.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"github.com/hookd/hookd/internal/storeopt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hookd/hookd/internal/postgres"
)

// Environment variables: the test database URL, and whether a missing
// database fails the tests rather than skips them.
const (
	EnvURL     = "HOOKD_TEST_POSTGRES_URL"
	EnvRequire = "HOOKD_REQUIRE_POSTGRES"
)

// URL returns the test database URL. When it is unset the test is skipped,
// or fails when HOOKD_REQUIRE_POSTGRES is set.
func URL(t testing.TB) string {
	t.Helper()
	url := os.Getenv(EnvURL)
	if url == "" {
		if os.Getenv(EnvRequire) != "" {
			t.Fatal(EnvURL + " not set, but " + EnvRequire + " is: PostgreSQL tests cannot run")
		}
		t.Skip(EnvURL + " not set: skipping PostgreSQL tests")
	}
	return url
}

// Schema creates a fresh schema in the test database, drops it when the
// test ends, and returns its name.
func Schema(t testing.TB) string {
	t.Helper()
	url := URL(t)
	var b [6]byte
	rand.Read(b[:])
	name := "hookd_test_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		t.Fatalf("pgtest: create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Errorf("pgtest: connect to drop schema %s: %v", name, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+name+" CASCADE"); err != nil {
			t.Errorf("pgtest: drop schema %s: %v", name, err)
		}
	})
	return name
}

// Database creates a database of its own on the test server, for a test
// that must change the database itself (ALTER DATABASE ...
// ALLOW_CONNECTIONS, which would disturb every other test on the shared
// one); it is dropped, with its sessions, when the test ends. Database
// returns its URL (the test URL with the database name replaced) and its
// name.
func Database(t testing.TB) (dbURL, name string) {
	t.Helper()
	admin := URL(t)
	var b [6]byte
	rand.Read(b[:])
	name = "hookd_outage_" + hex.EncodeToString(b[:])
	exec := func(sql string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			return err
		}
		defer conn.Close(context.Background())
		_, err = conn.Exec(ctx, sql)
		return err
	}
	if err := exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		if err := exec("DROP DATABASE " + name + " WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("pgtest: %s must be a postgres:// URL", EnvURL)
	}
	u.Path = "/" + name
	return u.String(), name
}

// AllowConnections sets whether the database name accepts connections
// (ALTER DATABASE ... ALLOW_CONNECTIONS) and, when it stops accepting
// them, ends its sessions, as an operator taking it offline does. Only for
// a database of the test's own (Database).
func AllowConnections(t testing.TB, name string, allow bool) {
	t.Helper()
	ctx, conn, done := adminConn(t)
	defer done()
	if _, err := conn.Exec(ctx, fmt.Sprintf("ALTER DATABASE %s ALLOW_CONNECTIONS %t", name, allow)); err != nil {
		t.Fatalf("pgtest: alter database %s: %v", name, err)
	}
	if allow {
		return
	}
	if _, err := conn.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = $1 AND pid <> pg_backend_pid()`, name); err != nil {
		t.Fatalf("pgtest: terminate the sessions of %s: %v", name, err)
	}
}

// Config returns a pool configuration for the test database with
// search_path (and application_name, to tell the test's connections apart
// in pg_stat_activity) set to schema.
func Config(t testing.TB, schema string) *pgxpool.Config {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(URL(t))
	if err != nil {
		t.Fatalf("pgtest: %s: %v", EnvURL, err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	cfg.ConnConfig.RuntimeParams["application_name"] = schema
	return cfg
}

// OpenSchema opens a store on schema with opts and closes it when the test
// ends (before the schema is dropped). Several stores on one schema act as
// several hookd processes sharing a database.
func OpenSchema(t testing.TB, schema string, opts ...storeopt.Option) *postgres.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := postgres.OpenConfig(ctx, Config(t, schema), opts...)
	if err != nil {
		t.Fatalf("pgtest: open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Open returns a store with opts on a fresh schema of its own, cleaned up
// when the test ends.
func Open(t testing.TB, opts ...storeopt.Option) *postgres.Store {
	t.Helper()
	return OpenSchema(t, Schema(t), opts...)
}

// URLFor returns the test database URL with search_path and
// application_name set to schema, for a process of its own (hookd serve
// --database) to work in the test's schema. pgx sends URL parameters that
// it does not know itself to the server as run-time parameters.
func URLFor(t testing.TB, schema string) string {
	t.Helper()
	return withSchema(t, URL(t), schema)
}

func withSchema(t testing.TB, raw, schema string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("pgtest: %s must be a postgres:// URL", EnvURL)
	}
	q := u.Query()
	q.Set("search_path", schema)
	q.Set("application_name", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Terminate ends, with pg_terminate_backend, every server session whose
// application_name is name (pgtest names a schema's connections after it),
// as a PostgreSQL restart would end them, and returns how many it ended.
// The server's other sessions are left alone.
func Terminate(t testing.TB, name string) int {
	t.Helper()
	ctx, conn, done := adminConn(t)
	defer done()
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))
		FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()`, name).Scan(&n); err != nil {
		t.Fatalf("pgtest: terminate the sessions of %s: %v", name, err)
	}
	return n
}

// Proxy is a TCP proxy on 127.0.0.1 in front of the test database, which a
// test cuts to make the database unreachable (connections refused, those
// open dropped) and restores, or stalls to make it hang (connections stay
// open and are accepted, but nothing goes through) and resumes, without
// disturbing the server's other sessions as a restart would.
type Proxy struct {
	target  string // host:port of the database
	network string // tcp, or unix for a socket directory

	mu     sync.Mutex
	addr   string
	ln     net.Listener
	conns  map[net.Conn]struct{}
	done   bool
	resume chan struct{} // closed by Resume; nil when not stalled
}

// NewProxy starts a proxy to the test database and stops it when the test
// ends.
func NewProxy(t testing.TB) *Proxy {
	t.Helper()
	cfg, err := pgconn.ParseConfig(URL(t))
	if err != nil {
		t.Fatalf("pgtest: %s: %v", EnvURL, err)
	}
	p := &Proxy{network: "tcp", target: net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))), conns: map[net.Conn]struct{}{}}
	if strings.HasPrefix(cfg.Host, "/") {
		p.network = "unix"
		p.target = fmt.Sprintf("%s/.s.PGSQL.%d", cfg.Host, cfg.Port)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("pgtest: proxy: %v", err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(func() {
		p.mu.Lock()
		p.done = true
		p.mu.Unlock()
		p.Cut()
		p.Resume()
	})
	return p
}

// Addr is the proxy's address, host:port.
func (p *Proxy) Addr() string { return p.addr }

// URLFor is pgtest.URLFor through the proxy.
func (p *Proxy) URLFor(t testing.TB, schema string) string {
	t.Helper()
	u, err := url.Parse(URLFor(t, schema))
	if err != nil {
		t.Fatal(err)
	}
	u.Host = p.addr
	return u.String()
}

// Config is pgtest.Config through the proxy.
func (p *Proxy) Config(t testing.TB, schema string) *pgxpool.Config {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(p.URLFor(t, schema))
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return cfg
}

func (p *Proxy) serve(ln net.Listener) {
	p.ln = ln
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.forward(c)
		}
	}()
}

func (p *Proxy) forward(c net.Conn) {
	p.waitResume()
	s, err := net.DialTimeout(p.network, p.target, 10*time.Second)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.ln == nil { // cut meanwhile
		p.mu.Unlock()
		c.Close()
		s.Close()
		return
	}
	p.conns[c], p.conns[s] = struct{}{}, struct{}{}
	p.mu.Unlock()
	var once sync.Once
	end := func() {
		once.Do(func() {
			c.Close()
			s.Close()
			p.mu.Lock()
			delete(p.conns, c)
			delete(p.conns, s)
			p.mu.Unlock()
		})
	}
	go func() { p.pipe(s, c); end() }()
	go func() { p.pipe(c, s); end() }()
}

// pipe copies src to dst, holding what it read while the proxy is stalled.
func (p *Proxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.waitResume()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// Stall makes the database hang, as a stuck server or a network that drops
// packets does: connections are accepted and stay open, but nothing goes
// through either way until Resume.
func (p *Proxy) Stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.resume == nil {
		p.resume = make(chan struct{})
	}
}

// Resume lets through again what Stall held, and what follows.
func (p *Proxy) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.resume != nil {
		close(p.resume)
		p.resume = nil
	}
}

func (p *Proxy) waitResume() {
	p.mu.Lock()
	resume := p.resume
	p.mu.Unlock()
	if resume != nil {
		<-resume
	}
}

// Cut makes the database unreachable through the proxy: it stops
// listening, so connections are refused, and drops the open ones.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

// Restore listens again, on the same address.
func (p *Proxy) Restore(t testing.TB) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil || p.done {
		return
	}
	var err error
	for range 50 { // the port may take a moment to be free again
		var ln net.Listener
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			p.serve(ln)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("pgtest: proxy: listen again on %s: %v", p.addr, err)
}

// adminConn connects to the test server's database as the suite's URL
// does, for statements about the server (databases, sessions), with 30 s
// to run them; done closes it.
func adminConn(t testing.TB) (context.Context, *pgx.Conn, func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	conn, err := pgx.Connect(ctx, URL(t))
	if err != nil {
		cancel()
		t.Fatalf("pgtest: connect: %v", err)
	}
	return ctx, conn, func() {
		conn.Close(context.Background())
		cancel()
	}
}
