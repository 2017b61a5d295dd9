package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
)

// Every setting is a flag, with an environment variable of the same name in
// upper case prefixed with HOOKD_ (--retry-schedule, HOOKD_RETRY_SCHEDULE),
// and a key of the same name in the config file (retry-schedule = 5s,5m).
// Precedence: a flag on the command line, then the environment, then the
// file, then the default.

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("hookd "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func envName(flagName string) string {
	return "HOOKD_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// configFlag defines --config on fs: the commands that have it read their
// settings from that file too.
func configFlag(fs *flag.FlagSet) {
	fs.String("config", "", "read settings from this `file`: key = value lines, keys named as the flags (e.g. retry-schedule = 5s,5m), # for comments")
}

// parseFlags sets fs from, in increasing precedence, the config file (when
// fs has --config), the environment variables, and args. An invalid
// setting is an error of one line that names where the setting came from;
// --help prints every setting with its variable and default.
func parseFlags(fs *flag.FlagSet, args []string) error {
	out := fs.Output()
	fs.SetOutput(io.Discard) // errors are returned, in one line
	fs.Usage = func() {}
	defer fs.SetOutput(out)

	if fs.Lookup("config") != nil {
		path, fromEnv := configPath(args)
		if path != "" {
			if err := loadConfigFile(fs, path); err != nil {
				if fromEnv {
					return fmt.Errorf("HOOKD_CONFIG=%s: %w", path, err)
				}
				return err
			}
		}
	}
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
		if errors.Is(err, flag.ErrHelp) {
			printUsage(out, fs)
			return err
		}
		return fmt.Errorf("%v (%s --help lists the settings)", err, fs.Name())
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// configPath returns the config file that args (--config) or HOOKD_CONFIG
// name, "" for none, and whether it came from the environment.
func configPath(args []string) (path string, fromEnv bool) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || name != "config" {
			continue
		}
		if hasValue {
			return value, false
		}
		if i+1 < len(args) {
			return args[i+1], false
		}
		return "", false // flag.Parse reports the missing value
	}
	return os.Getenv("HOOKD_CONFIG"), true
}

// loadConfigFile sets fs from a config file: `key = value` lines whose keys
// are fs's flag names, blank lines, and comments starting with #. A value
// may be written in double quotes (Go syntax). An unknown key, a repeated
// one or an invalid value is an error naming the file and line.
func loadConfigFile(fs *flag.FlagSet, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	seen := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		where := fmt.Sprintf("%s:%d", path, n)
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			return fmt.Errorf("%s: want key = value, got %q", where, line)
		}
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if strings.HasPrefix(value, `"`) {
			unquoted, err := strconv.Unquote(value)
			if err != nil {
				return fmt.Errorf("%s: %s: badly quoted value", where, key) // the value may be a secret: not echoed
			}
			value = unquoted
		}
		f := fs.Lookup(key)
		if f == nil || key == "config" {
			if key != "config" && isServeSetting(key) {
				continue // for serve; this command has no use for it
			}
			return fmt.Errorf("%s: unknown setting %q (%s --help lists the settings)", where, key, fs.Name())
		}
		if prev, ok := seen[key]; ok {
			return fmt.Errorf("%s: %s is already set on line %d", where, key, prev)
		}
		seen[key] = n
		if err := fs.Set(key, value); err != nil {
			return fmt.Errorf("%s: invalid %s %q: %v", where, key, value, err) // only typed settings fail, never a secret string
		}
	}
	return sc.Err()
}

// isServeSetting reports whether name is a setting of serve, so that
// migrate and keys create can read serve's config file.
func isServeSetting(name string) bool {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	serveFlags(fs)
	return fs.Lookup(name) != nil
}

// printUsage prints every setting of fs: its flag, environment variable
// and default.
func printUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: %s [flags]\n\n", fs.Name())
	if fs.Lookup("config") != nil {
		fmt.Fprint(w, "Each setting is a flag, an environment variable, or a key in the config file\n"+
			"(--config / HOOKD_CONFIG); a flag wins over the environment, which wins over the\n"+
			"file, which wins over the default.\n\n")
	} else {
		fmt.Fprint(w, "Each setting is a flag or an environment variable; a flag wins.\n\n")
	}
	fs.VisitAll(func(f *flag.Flag) {
		kind, usage := flag.UnquoteUsage(f)
		if kind != "" {
			kind = " " + kind
		}
		def := f.DefValue
		if def == "" {
			def = "none"
		}
		fmt.Fprintf(w, "  --%s%s\n    \t%s\n    \t(env %s; default %s)\n", f.Name, kind, usage, envName(f.Name), def)
	})
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
	fs.StringVar(&c.level, "log-level", "info", "log level: debug (one line per delivery attempt), info, warn or error")
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
