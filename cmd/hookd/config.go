package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
)

// Every setting is a flag with an environment variable of the same name in
// upper case, prefixed with HOOKD_ (--retry-schedule, HOOKD_RETRY_SCHEDULE);
// a flag given on the command line wins over the environment.

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("hookd "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func envName(flagName string) string {
	return "HOOKD_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseFlags parses args after applying environment variables as defaults,
// and names each variable in the help text.
func parseFlags(fs *flag.FlagSet, args []string) error {
	fs.VisitAll(func(f *flag.Flag) {
		f.Usage = fmt.Sprintf("%s (env %s)", f.Usage, envName(f.Name))
	})
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if v, ok := os.LookupEnv(envName(f.Name)); ok && err == nil {
			if setErr := fs.Set(f.Name, v); setErr != nil {
				err = fmt.Errorf("invalid %s=%q: %v", envName(f.Name), v, setErr)
			}
		}
	})
	if err != nil {
		return err
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

const defaultDatabase = "hookd.db"

func databaseFlag(fs *flag.FlagSet) *string {
	return fs.String("database", defaultDatabase, "SQLite file path, or a postgres:// URL")
}

type logConfig struct {
	format, level string
}

func logFlags(fs *flag.FlagSet) *logConfig {
	c := &logConfig{}
	fs.StringVar(&c.format, "log-format", "text", "log format: text or json")
	fs.StringVar(&c.level, "log-level", "info", "log level: debug, info, warn or error")
	return c
}

func (c *logConfig) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.level)); err != nil {
		return nil, fmt.Errorf("invalid --log-level %q: use debug, info, warn or error", c.level)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch c.format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("invalid --log-format %q: use text or json", c.format)
}
