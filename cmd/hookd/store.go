package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	sqlitedriver "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/postgres"
	"github.com/hookd/hookd/internal/sqlite"
	"github.com/hookd/hookd/internal/storedeadline"
	"github.com/hookd/hookd/internal/storeopt"
)

// openStore opens the database that --database names, applies the
// migrations and checks that it takes a write (a read-only database is
// refused at start, not found by the first publish). Its error is one line
// that names the database, says what is wrong and what to do. Connecting
// to PostgreSQL may take connectTimeout of the default --database-timeout.
func openStore(ctx context.Context, database string, opts ...storeopt.Option) (hookd.Store, error) {
	return openStoreWithin(ctx, database, connectTimeout(storedeadline.DefaultTimeout), opts...)
}

// openExistingStore is openStore for the commands that manage a database
// that serve uses (keys): a SQLite file that does not exist is refused,
// not created, as it would be a mistyped --database (a key made there
// works on no server). serve and migrate create it.
func openExistingStore(ctx context.Context, database string) (hookd.Store, error) {
	if !isPostgres(database) {
		if _, ok := urlScheme(database); !ok {
			if _, err := os.Stat(database); errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("cannot open the SQLite database %s: it does not exist (check --database; hookd serve or hookd migrate creates it)", database)
			}
		}
	}
	return openStore(ctx, database)
}

// connectTimeout is how long connecting to PostgreSQL may take, for a
// --database-timeout of dbTimeout: three database calls' worth, at least
// 2s (libpq's least connect_timeout). It bounds each connection (the TCP
// connect, TLS, the startup and authentication), at start and after, but
// not the statements, so that a long migration of a big database runs on.
func connectTimeout(dbTimeout time.Duration) time.Duration {
	return max(3*dbTimeout, 2*time.Second)
}

// openStoreWithin is openStore with connecting to PostgreSQL bounded by
// connect, unless the URL (connect_timeout=) or PGCONNECT_TIMEOUT sets the
// bound: without one, a server that takes the connection and never answers
// would hold the start for ever.
func openStoreWithin(ctx context.Context, database string, connect time.Duration, opts ...storeopt.Option) (hookd.Store, error) {
	var store hookd.Store
	var err error
	if isPostgres(database) {
		cfg, err := pgxpool.ParseConfig(database)
		if err != nil {
			return nil, postgresOpenError(database, fmt.Errorf("postgres: %w", err))
		}
		if !setsConnectTimeout(database) {
			cfg.ConnConfig.ConnectTimeout = connect
		}
		if store, err = postgres.OpenConfig(ctx, cfg, opts...); err != nil {
			if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
				return nil, fmt.Errorf("cannot reach the PostgreSQL database %s: no answer within %s: %s (check that it runs, answers and takes connections from here, and that --database names it; connect_timeout= in it sets how long to wait, in seconds)",
					redact(database), cfg.ConnConfig.ConnectTimeout, oneLine(err))
			}
			return nil, postgresOpenError(database, err)
		}
	} else {
		if scheme, ok := urlScheme(database); ok {
			return nil, fmt.Errorf("--database %s: %s:// is not a database hookd can use: give a SQLite file path or a postgres:// URL", redact(database), scheme)
		}
		if err := checkSQLitePath(database); err != nil {
			return nil, err
		}
		if store, err = sqlite.Open(ctx, database, opts...); err != nil {
			return nil, sqliteOpenError(database, err)
		}
	}
	if err := store.CheckWrite(ctx); err != nil {
		store.Close()
		if isPostgres(database) {
			return nil, postgresOpenError(database, err)
		}
		return nil, sqliteOpenError(database, err)
	}
	return store, nil
}

// oneLine is err's message on one line: pgx puts each address it tried on
// a line of its own.
func oneLine(err error) string {
	return strings.ReplaceAll(strings.ReplaceAll(err.Error(), ":\n\t", ": "), "\n\t", "; ")
}

// setsConnectTimeout reports whether database (a postgres:// URL) or the
// environment (PGCONNECT_TIMEOUT, which pgx reads as libpq does) sets how
// long connecting may take.
func setsConnectTimeout(database string) bool {
	if _, set := os.LookupEnv("PGCONNECT_TIMEOUT"); set {
		return true
	}
	u, err := url.Parse(database)
	return err == nil && u.Query().Has("connect_timeout")
}

func isPostgres(database string) bool {
	return strings.HasPrefix(database, "postgres://") || strings.HasPrefix(database, "postgresql://")
}

// urlScheme returns the scheme of database when it is a URL (mysql://...)
// rather than a file path.
func urlScheme(database string) (string, bool) {
	scheme, _, ok := strings.Cut(database, "://")
	if !ok || scheme == "" {
		return "", false
	}
	if u, err := url.Parse(database); err != nil || u.Scheme == "" {
		return "", false
	}
	return scheme, true
}

// checkSQLitePath finds what makes path unusable as a database file
// before SQLite does, since SQLite says only "unable to open database
// file" whatever the cause.
func checkSQLitePath(path string) error {
	fail := func(problem, todo string) error {
		return fmt.Errorf("cannot open the SQLite database %s: %s (%s)", path, problem, todo)
	}
	if info, err := os.Stat(path); err == nil && info.IsDir() {
		return fail("it is a directory", "give the path of a file in it, e.g. "+filepath.Join(path, defaultDatabase)+", as --database")
	}
	// The nearest ancestor that exists must be a directory, and be the
	// file's own.
	dir := filepath.Dir(path)
	for d := dir; ; d = filepath.Dir(d) {
		info, err := os.Stat(d)
		switch {
		case err == nil && !info.IsDir():
			return fail(d+" is a file, not a directory", "choose another --database")
		case err == nil && d != dir:
			return fail("the directory "+dir+" does not exist", "create it, or choose another --database")
		case err == nil:
			return nil
		case errors.Is(err, fs.ErrPermission):
			return fail("permission denied to reach the directory "+d, "let the user running hookd in, or choose another --database")
		case !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR):
			return fail(err.Error(), "choose another --database")
		}
		if filepath.Dir(d) == d {
			return fail("the directory "+dir+" does not exist", "create it, or choose another --database")
		}
	}
}

// sqliteOpenError says why SQLite could not open or write path.
func sqliteOpenError(path string, err error) error {
	var se *sqlitedriver.Error
	code := 0
	if errors.As(err, &se) {
		code = se.Code() & 0xff
	}
	switch {
	case code == sqlite3.SQLITE_READONLY:
		return fmt.Errorf("cannot write the SQLite database %s: it is read-only for the user running hookd (uid %d) (make the file and its directory writable for it, or choose another --database)",
			path, os.Geteuid())
	case code == sqlite3.SQLITE_CANTOPEN:
		if f, ferr := os.OpenFile(path, os.O_RDWR, 0); ferr != nil && errors.Is(ferr, fs.ErrPermission) {
			return fmt.Errorf("cannot open the SQLite database %s: permission denied (let the user running hookd, uid %d, read and write it, or choose another --database)", path, os.Geteuid())
		} else if ferr == nil {
			f.Close()
		}
		if dir := filepath.Dir(path); syscall.Access(dir, 0x2|0x1) != nil { // W_OK|X_OK: SQLite creates the file and its -wal and -shm there
			return fmt.Errorf("cannot open the SQLite database %s: permission denied to create files in the directory %s (let the user running hookd, uid %d, write there, or choose another --database)", path, dir, os.Geteuid())
		}
	case code == sqlite3.SQLITE_FULL:
		return fmt.Errorf("cannot write the SQLite database %s: the disk is full (free some space, or choose another --database)", path)
	case code == sqlite3.SQLITE_NOTADB || code == sqlite3.SQLITE_CORRUPT:
		return fmt.Errorf("cannot open the SQLite database %s: it is not a hookd database, or it is damaged (%v) (choose another --database)", path, se)
	}
	if se != nil {
		err = se // without the wrapping that names the path again
	}
	return fmt.Errorf("cannot open the SQLite database %s: %v", path, err)
}

// postgresOpenError says why the PostgreSQL database could not be used.
func postgresOpenError(database string, err error) error {
	var pgErr *pgconn.PgError
	errors.As(err, &pgErr)
	switch {
	case pgErr != nil && pgErr.Code == "3F000": // invalid_schema_name: no schema of search_path exists
		searchPath := `the default, "$user", public`
		if cfg, perr := pgx.ParseConfig(database); perr == nil && cfg.RuntimeParams["search_path"] != "" {
			searchPath = cfg.RuntimeParams["search_path"]
		}
		return fmt.Errorf("cannot use the PostgreSQL database %s: no schema of its search_path (%s) exists (create it with CREATE SCHEMA, or set search_path= in --database to an existing schema)",
			redact(database), searchPath)
	case pgErr != nil && pgErr.Code == "25006": // read_only_sql_transaction
		return fmt.Errorf("cannot write the PostgreSQL database %s: it is read-only, a standby or default_transaction_read_only (point --database at the primary)", redact(database))
	}
	msg := oneLine(err)
	if errors.Is(err, hookd.ErrUnavailable) {
		return fmt.Errorf("cannot reach the PostgreSQL database %s: %s (check that it runs and takes connections from here, and that --database names it)", redact(database), msg)
	}
	return fmt.Errorf("cannot open the PostgreSQL database %s: %s", redact(database), msg)
}
