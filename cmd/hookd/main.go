// Command hookd runs the hookd webhook service and its tools.
//
//	hookd serve                      run the API and the delivery workers
//	hookd migrate                    apply the database schema
//	hookd keys create --name N       print a new API key (--admin for an admin key)
//	hookd keys list                  list the API keys (--json)
//	hookd keys revoke PREFIX|ID      revoke an API key
//	hookd events send --event E      publish an event to a running hookd
//	hookd receive                    print the deliveries it gets, to try hookd out
//	hookd bench                      measure hookd end to end on this machine
//	hookd version                    print version and commit
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
)

const usage = `hookd: a webhook service compatible with MediaPocket V2's admin webhooks API.

Usage:
  hookd serve [flags]                       run the API and the delivery workers
  hookd migrate [--database D]              apply the database schema and exit
  hookd keys create --name N [--admin]      create an API key and print it once
  hookd keys list [--json]                  list the API keys (never their secrets)
  hookd keys revoke PREFIX|ID               revoke an API key
  hookd events send --event E [flags]       publish an event to a running hookd
  hookd receive [--addr A]                  a receiver that prints each delivery and answers 200, to try hookd out
  hookd bench [flags]                       measure throughput and latency end to end
  hookd generate --database D [--attempts N] fill a database with history, then measure on it
  hookd version                             print version and commit (also --version)
  hookd help [command]                      this help, or a command's settings

Run "hookd <command> --help" (or "hookd help <command>") for a command's settings.
`

func main() {
	tuneGC(os.LookupEnv)
	ctx, stop := signalContext(context.Background())
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0) // the help was asked for, and printed
		}
		fmt.Fprintln(os.Stderr, errorLine(err))
		os.Exit(exitCode(err))
	}
}

// signalled is the cause of a context that SIGINT or SIGTERM ended.
type signalled struct{ signal syscall.Signal }

func (s signalled) Error() string { return s.signal.String() + " signal received" }

// signalContext is signal.NotifyContext on SIGINT and SIGTERM, with a
// cause that names the signal (signalled), for the commands that say which
// one stopped them. stop ends the catching: a second signal then kills.
func signalContext(parent context.Context) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(parent)
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case s := <-signals:
			cancel(signalled{s.(syscall.Signal)})
		case <-ctx.Done():
		}
	}()
	return ctx, func() {
		signal.Stop(signals)
		cancel(nil)
	}
}

// gcPercent is hookd's GOGC unless the environment sets one. hookd's live
// heap is small (tens of MB) while every request and attempt allocates: at
// Go's default of 100 the collector ran several times a second under load.
// At 200, single events cost about 7 % less CPU for about 10 MB more memory.
const gcPercent = 200

// tuneGC sets gcPercent unless GOGC is in the environment (lookup).
func tuneGC(lookup func(string) (string, bool)) {
	if _, set := lookup("GOGC"); !set {
		debug.SetGCPercent(gcPercent)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		return serve(ctx, rest, stderr)
	case "migrate":
		return migrate(ctx, rest, stdout, stderr)
	case "keys":
		return keysCmd(ctx, rest, stdout, stderr)
	case "events":
		if len(rest) > 0 && (rest[0] == "help" || rest[0] == "-h" || rest[0] == "--help") {
			rest = []string{"send", "--help"} // its one command
		}
		if len(rest) == 0 || rest[0] != "send" {
			return errors.New(`unknown events command: use "hookd events send --event NAME [--project P] [--user N] [--data JSON]"`)
		}
		return sendEvent(ctx, rest[1:], stdout, stderr)
	case "receive":
		return receive(ctx, rest, stdout, stderr)
	case "bench":
		return benchCmd(ctx, rest, stdout, stderr)
	case "generate":
		return generateCmd(ctx, rest, stdout, stderr)
	case "bench-receiver": // the bench's receiver, a child process of bench
		return benchReceiver(ctx, rest, stdout, stderr)
	case "bench-publisher": // the bench's publishing client, a child process of bench
		return benchPublisher(ctx, rest, stdout, stderr)
	case "version", "--version", "-version", "-v":
		return printVersion(stdout)
	case "help", "-h", "--help", "-help":
		if len(rest) > 0 { // hookd help serve: serve's settings
			return run(ctx, append(rest[:1:1], "--help"), stdout, stderr)
		}
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q (hookd help lists the commands)", cmd)
	}
}

// errorLine is the line main prints for err: prefixed with "hookd:" once,
// whether or not err already says it (the client's errors do).
func errorLine(err error) string {
	return "hookd: " + strings.TrimPrefix(err.Error(), "hookd: ")
}
