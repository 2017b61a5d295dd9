package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"syscall"

	"github.com/hookd/hookd"
)

func migrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("migrate", stderr)
	database := databaseFlag(fs)
	configFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	store, err := openStore(ctx, *database) // opening applies the migrations
	if err != nil {
		return migrateError(ctx, err)
	}
	defer store.Close()
	fmt.Fprintf(stdout, "schema of %s is up to date\n", redact(*database))
	grants, err := outboxGrants(ctx, store)
	if err != nil {
		return migrateError(ctx, err)
	}
	fmt.Fprintln(stdout, grants)
	return nil
}

// migrateError is migrate's err, or, when a signal ended ctx meanwhile, an
// interruptedError saying so: the signal failed it, whatever err reads
// ("context canceled"). The schema is consistent wherever migrate stops:
// the pending migrations run in one transaction (internal/migrate), which
// the signal rolls back unless it committed.
func migrateError(ctx context.Context, err error) error {
	if ctx.Err() == nil {
		return err
	}
	return &interruptedError{
		err:     err,
		signal:  interruptingSignal(ctx),
		command: "migrate",
		state:   "the schema is consistent: the pending migrations run in one transaction, applied all or none (run hookd migrate again to apply them)",
	}
}

// interruptedError is a command that a signal stopped before it finished,
// with the error it stopped on (most often context.Canceled; kept for
// errors.Is, not shown).
type interruptedError struct {
	err     error
	signal  syscall.Signal
	command string
	state   string // what it leaves, for whoever runs it again
}

func (e *interruptedError) Error() string {
	name := "SIGTERM"
	if e.signal == syscall.SIGINT {
		name = "SIGINT (Ctrl-C)"
	}
	return fmt.Sprintf("%s interrupted by %s: %s", e.command, name, e.state)
}

func (e *interruptedError) Unwrap() error { return e.err }

// interruptingSignal returns the signal that ended ctx (signalContext), or
// SIGINT, the interruption at a terminal, when none did (a caller's
// cancel).
func interruptingSignal(ctx context.Context) syscall.Signal {
	if s, ok := errors.AsType[signalled](context.Cause(ctx)); ok {
		return s.signal
	}
	return syscall.SIGINT
}

// exitCode is hookd's exit status after run failed with err: for a
// command that a signal interrupted, 128 plus the signal's number (130
// after Ctrl-C, 143 after SIGTERM), as a shell reports a process that the
// signal killed, so that a script or a service manager tells an
// interruption from a failure; 2 for any other error.
func exitCode(err error) int {
	var interrupted *interruptedError
	if errors.As(err, &interrupted) {
		return 128 + int(interrupted.signal)
	}
	return 2
}

func createKey(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("keys create", stderr)
	database := databaseFlag(fs)
	configFlag(fs)
	name := fs.String("name", "", "a name for the key (required)")
	admin := fs.Bool("admin", false, "make an admin key (default: a publisher key, which may only publish events)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *name == "" {
		return errors.New("--name is required")
	}
	role := hookd.RolePublisher
	if *admin {
		role = hookd.RoleAdmin
	}
	store, err := openExistingStore(ctx, *database)
	if err != nil {
		return err
	}
	defer store.Close()
	plaintext, err := hookd.IssueAPIKey(ctx, store, hookd.DefaultUserID, *name, role)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, plaintext)
	return nil
}

func printVersion(stdout io.Writer) error {
	goVersion, commit := "unknown", hookd.Commit
	if info, ok := debug.ReadBuildInfo(); ok {
		goVersion = info.GoVersion
		for _, setting := range info.Settings {
			if setting.Key == "vcs.revision" && commit == "unknown" {
				commit = setting.Value
			}
		}
	}
	fmt.Fprintf(stdout, "hookd %s (commit %s, %s)\n", hookd.Version, commit, goVersion)
	return nil
}
