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
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Every setting of serve is a flag, with an environment variable of the
// same name in upper case prefixed with HOOKD_ (--retry-schedule,
// HOOKD_RETRY_SCHEDULE), and a key of the same name in the config file
// (retry-schedule = 5s,5m). The other commands read only the variables of
// envSettings. Precedence: a flag on the command line, then the
// environment, then the file, then the default.

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("hookd "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func envName(flagName string) string {
	return "HOOKD_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// envSettings are the settings that commands other than serve read from
// the environment: those that name what serve's variable of the same name
// names (the database, the config file) and the client's server and key.
// The others do not, so that a variable exported for serve (the Docker
// image's HOOKD_ADDR=0.0.0.0:8080, HOOKD_CONCURRENCY) does not change
// receive's address, or point bench or generate at serve's database.
var envSettings = map[string][]string{
	"hookd migrate":     {"database", "config"},
	"hookd keys create": {"database", "config"},
	"hookd keys list":   {"database", "config"},
	"hookd keys revoke": {"database", "config"},
	"hookd events send": {"server", "api-key"},
}

// readsEnv reports whether fs's setting name is read from the environment
// (HOOKD_ and the name): every setting of serve, and envSettings of the
// other commands.
func readsEnv(fs *flag.FlagSet, name string) bool {
	return fs.Name() == "hookd serve" || slices.Contains(envSettings[fs.Name()], name)
}

// configFlag defines --config on fs: the commands that have it read their
// settings from that file too.
func configFlag(fs *flag.FlagSet) {
	fs.String("config", "", "read settings from this `file`: key = value lines, keys named as the flags (e.g. retry-schedule = 5s,5m), # for comments")
}

// parseFlags sets fs from, in increasing precedence, the config file (when
// fs has --config), the environment variables, and args. An invalid
// setting is an error of one line that names it as it was given (the
// flag, the variable or the file's line and key), with the value and the
// form expected; --help prints every setting with its variable and default.
func parseFlags(fs *flag.FlagSet, args []string) error {
	out := fs.Output()
	fs.SetOutput(io.Discard) // errors are returned, in one line
	fs.Usage = func() {}
	defer fs.SetOutput(out)
	fs.VisitAll(func(f *flag.Flag) {
		if _, tracked := f.Value.(*settingValue); !tracked {
			f.Value = &settingValue{Value: f.Value, name: f.Name, def: f.DefValue}
		}
	})

	if fs.Lookup("config") != nil {
		path, fromEnv := configPath(fs, args)
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
		if !readsEnv(fs, f.Name) {
			return
		}
		if v, ok := os.LookupEnv(envName(f.Name)); ok && err == nil {
			err = setFrom(fs, f.Name, v, origin{env: envName(f.Name)})
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
		return flagError(fs, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (%s --help lists the settings)", fs.Arg(0), fs.Name())
	}
	return nil
}

// origin is where a setting's value came from: an environment variable,
// a line of the config file, or (both empty) the command line or the
// default.
type origin struct {
	env  string // HOOKD_...
	file string // path:line
}

// settingValue is a flag's value that remembers the text it was last set
// to and where that came from, for error messages.
type settingValue struct {
	flag.Value
	name, def string
	raw       string
	from      origin
	setErr    error // the last Set's failure, in the form expected
}

func (v *settingValue) Set(s string) error {
	v.raw, v.from, v.setErr = s, origin{}, nil // the caller of fs.Set says where from
	if err := v.Value.Set(s); err != nil {
		v.setErr = v.expected(err)
		return v.setErr
	}
	return nil
}

// IsBoolFlag keeps --metrics (without a value) meaning --metrics=true.
func (v *settingValue) IsBoolFlag() bool {
	b, ok := v.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// expected says what form the setting takes, for a value Set refused.
func (v *settingValue) expected(err error) error {
	getter, ok := v.Value.(flag.Getter)
	if !ok {
		return err
	}
	switch getter.Get().(type) {
	case bool:
		return errors.New("use true or false")
	case int, int64, uint, uint64:
		return fmt.Errorf("use a whole number, such as %s", v.def)
	case float64:
		return fmt.Errorf("use a number, such as %s", v.def)
	case time.Duration:
		return errors.New("use a duration such as 500ms, 15s, 5m or 2h")
	}
	return err
}

// setFrom sets fs's setting name to value, from where.
func setFrom(fs *flag.FlagSet, name, value string, where origin) error {
	err := fs.Set(name, value)
	if v, ok := fs.Lookup(name).Value.(*settingValue); ok {
		v.from = where
	}
	if err != nil {
		return invalidSetting(fs, name, err.Error())
	}
	return nil
}

// settingName is fs's setting name as the user gave it: HOOKD_NAME when
// it came from the environment, "path:line: name" from the config file,
// else --name.
func settingName(fs *flag.FlagSet, name string) string {
	v, _ := fs.Lookup(name).Value.(*settingValue)
	switch {
	case v != nil && v.from.env != "":
		return v.from.env
	case v != nil && v.from.file != "":
		return v.from.file + ": " + name
	}
	return "--" + name
}

// secretSettings are never echoed in messages.
var secretSettings = map[string]bool{"admin-api-key": true, "api-key": true}

// invalidSetting is the error for fs's setting name, whose value is wrong
// for the reason problem: the setting is named as the user gave it, with
// its value (hidden for a key; a database URL without its password).
//
//	invalid --concurrency "lots": use a whole number, such as 256
//	invalid HOOKD_CONCURRENCY="lots": ...
//	hookd.conf:7: invalid concurrency "lots": ...
func invalidSetting(fs *flag.FlagSet, name, problem string) error {
	f := fs.Lookup(name)
	value := f.Value.String()
	v, _ := f.Value.(*settingValue)
	if v != nil && v.raw != "" {
		value = v.raw
	}
	shown := fmt.Sprintf(" %q", value)
	switch {
	case secretSettings[name]:
		shown = ""
	case name == "database", name == "log-database":
		shown = fmt.Sprintf(" %q", redact(value))
	}
	switch {
	case v != nil && v.from.env != "":
		if shown != "" {
			shown = "=" + shown[1:]
		}
		return fmt.Errorf("invalid %s%s: %s", v.from.env, shown, problem)
	case v != nil && v.from.file != "":
		return fmt.Errorf("%s: invalid %s%s: %s", v.from.file, name, shown, problem)
	}
	return fmt.Errorf("invalid --%s%s: %s", name, shown, problem)
}

// flagError rewrites an error of fs.Parse in the words of invalidSetting,
// with a hint for a flag fs does not have.
func flagError(fs *flag.FlagSet, err error) error {
	msg := err.Error()
	hint := fmt.Sprintf(" (%s --help lists the settings)", fs.Name())
	var failed *settingValue
	fs.VisitAll(func(f *flag.Flag) {
		if v, ok := f.Value.(*settingValue); ok && v.setErr != nil && failed == nil {
			failed = v
		}
	})
	switch {
	case failed != nil:
		return invalidSetting(fs, failed.name, failed.setErr.Error())
	case strings.HasPrefix(msg, "flag provided but not defined: -"):
		name := strings.TrimPrefix(msg, "flag provided but not defined: -")
		if similar := similarFlag(fs, name); similar != "" {
			hint = fmt.Sprintf(": did you mean --%s?%s", similar, hint)
		}
		return fmt.Errorf("unknown flag --%s%s", name, hint)
	case strings.HasPrefix(msg, "flag needs an argument: -"):
		return fmt.Errorf("--%s needs a value%s", strings.TrimPrefix(msg, "flag needs an argument: -"), hint)
	}
	return fmt.Errorf("%s%s", msg, hint)
}

// flagSynonyms are flags a user may reach for in place of fs's own.
var flagSynonyms = map[string][]string{
	"addr": {"server"}, "server": {"addr"}, "url": {"server"}, "key": {"api-key", "admin-api-key"}, "db": {"database"},
}

// similarFlag returns the flag of fs that the unknown flag name most
// likely meant: a synonym, or one a typo away; "" for none.
func similarFlag(fs *flag.FlagSet, name string) string {
	for _, synonym := range flagSynonyms[name] {
		if fs.Lookup(synonym) != nil {
			return synonym
		}
	}
	best, bestDistance := "", 3 // at most two edits away
	fs.VisitAll(func(f *flag.Flag) {
		if d := editDistance(name, f.Name); d < bestDistance {
			best, bestDistance = f.Name, d
		}
	})
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// configPath returns the config file that args (--config) or HOOKD_CONFIG
// name, "" for none, and whether it came from the environment. As with
// every flag, the last --config wins. args are read as fs.Parse reads
// them: up to "--" or the first argument that is not a flag, a flag's
// value being the next argument unless the flag is a boolean or has =.
func configPath(fs *flag.FlagSet, args []string) (path string, fromEnv bool) {
	found := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || len(a) < 2 || a[0] != '-' {
			break
		}
		name, value, hasValue := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-"), "=")
		f := fs.Lookup(name)
		if !hasValue && f != nil && !isBoolFlag(f) {
			if i+1 == len(args) {
				break // flag.Parse reports the missing value
			}
			i++
			value = args[i]
		}
		if name == "config" {
			path, found = value, true
		}
	}
	if found || !readsEnv(fs, "config") {
		return path, false
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
			return fmt.Errorf("%s: want key = value, %s", where, lineWithoutEquals(fs, line))
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
			if similar := similarFlag(fs, key); similar != "" && similar != "config" {
				return fmt.Errorf("%s: unknown setting %q: did you mean %s? (%s --help lists the settings)", where, key, similar, fs.Name())
			}
			return fmt.Errorf("%s: unknown setting %q (%s --help lists the settings)", where, key, fs.Name())
		}
		if prev, ok := seen[key]; ok {
			return fmt.Errorf("%s: %s is already set on line %d", where, key, prev)
		}
		seen[key] = n
		if err := setFrom(fs, key, value, origin{file: where}); err != nil {
			return err
		}
	}
	return sc.Err()
}

// lineWithoutEquals describes a config file's line that has no "=" without
// echoing what may be a secret (admin-api-key admin.s3cret): only its
// start, before the first space, colon or tab, and only when that is a
// setting's name or looks like one.
func lineWithoutEquals(fs *flag.FlagSet, line string) string {
	start, rest := line, ""
	if i := strings.IndexAny(line, " :\t"); i >= 0 {
		start, rest = line[:i], line[i:]
	}
	known := fs.Lookup(start) != nil || isServeSetting(start)
	switch {
	case known && rest == "":
		return fmt.Sprintf("got %q", start)
	case known || rest != "" && settingLike.MatchString(start):
		return fmt.Sprintf("got a line that starts %q and has no = (the rest is not shown)", start)
	}
	return "got a line that has no = (not shown: it may hold a secret)"
}

// settingLike is the form of a setting's name.
var settingLike = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)

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
	switch {
	case fs.Name() == "hookd serve":
		fmt.Fprint(w, "Each setting is a flag, an environment variable, or a key in the config file\n"+
			"(--config / HOOKD_CONFIG); a flag wins over the environment, which wins over the\n"+
			"file, which wins over the default.\n\n")
	case fs.Lookup("config") != nil:
		fmt.Fprint(w, "Each setting is a flag or a key in the config file (--config / HOOKD_CONFIG), and\n"+
			"those marked env an environment variable too; a flag wins over the environment,\n"+
			"which wins over the file, which wins over the default.\n\n")
	case len(envSettings[fs.Name()]) > 0:
		fmt.Fprint(w, "Each setting is a flag, and those marked env an environment variable too; a flag wins.\n\n")
	default:
		fmt.Fprint(w, "Each setting is a flag (this command reads no environment variable: HOOKD_ ones are serve's).\n\n")
	}
	fs.VisitAll(func(f *flag.Flag) {
		if v, ok := f.Value.(*settingValue); ok {
			f = &flag.Flag{Name: f.Name, Usage: f.Usage, Value: v.Value, DefValue: f.DefValue} // its own type names its kind
		}
		kind, usage := flag.UnquoteUsage(f)
		if kind != "" {
			kind = " " + kind
		}
		def := f.DefValue
		if def == "" {
			def = "none"
		}
		env := ""
		if readsEnv(fs, f.Name) {
			env = "env " + envName(f.Name) + "; "
		}
		fmt.Fprintf(w, "  --%s%s\n    \t%s\n    \t(%sdefault %s)\n", f.Name, kind, usage, env, def)
	})
}

const defaultDatabase = "hookd.db"

func databaseFlag(fs *flag.FlagSet) *string {
	return fs.String("database", defaultDatabase, "SQLite file path, or a postgres:// URL")
}

type logConfig struct {
	fs            *flag.FlagSet // for the settings' names in errors
	format, level string
}

func logFlags(fs *flag.FlagSet) *logConfig {
	c := &logConfig{fs: fs}
	fs.StringVar(&c.format, "log-format", "text", "log format: text or json")
	fs.StringVar(&c.level, "log-level", "info", "log level: debug (one line per delivery attempt), info, warn or error")
	return c
}

func (c *logConfig) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.level)); err != nil {
		return nil, invalidSetting(c.fs, "log-level", "use debug, info, warn or error")
	}
	opts := &slog.HandlerOptions{Level: level}
	switch c.format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, invalidSetting(c.fs, "log-format", "use text or json")
}
