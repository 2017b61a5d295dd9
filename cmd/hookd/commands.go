package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"

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
		return err
	}
	defer store.Close()
	fmt.Fprintf(stdout, "schema of %s is up to date\n", redact(*database))
	grants, err := outboxGrants(ctx, store)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, grants)
	return nil
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
