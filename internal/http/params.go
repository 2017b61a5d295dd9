package http

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hookd/hookd"
)

// Request validation follows the rules of Apipie, the Rails library behind
// MediaPocket's API, so that error strings match it character for character:
// an absent required key is "Missing parameter <name>"; a present key of the
// wrong kind is "Invalid parameter '<name>' value <Ruby inspect>: <rule>".

// Rule texts, as Apipie words them.
const (
	ruleString  = "Must be a String"
	ruleInteger = "Must be a Integer" // sic: Apipie's grammar
	ruleBoolean = "Must be one of: true, false, 1, 0"
	ruleHash    = "Must be a Hash"

	ruleProjectID = "Must be a String of " + hookd.ProjectIDForm
)

var (
	ruleEventArray = "Must be an array of " + rubyInspect(stringsToAny(hookd.EventNames))
	ruleEventName  = "Must be one of: " + strings.Join(hookd.EventNames, ", ")
	ruleHTTPMethod = "Must be one of: " + strings.Join(httpMethods, ", ")
	httpMethods    = []string{"POST", "PUT", "PATCH"}
)

// validationError is a 422 answer.
type validationError struct{ msg string }

func (e *validationError) Error() string { return e.msg }

func missing(name string) error { return &validationError{"Missing parameter " + name} }

func invalid(name string, value any, rule string) error {
	return &validationError{fmt.Sprintf("Invalid parameter '%s' value %s: %s", name, shortInspect(value), rule)}
}

// shortInspect is rubyInspect(v), cut (cutEcho) and marked "..." when
// that makes it shorter: an elided value, cut and marked already, is
// shown as it is.
func shortInspect(v any) string {
	if text, ok := v.(string); ok && len(text) > maxInspect+4 {
		// Only its start shows: inspecting all of a huge text would take
		// several times its size.
		cut := maxInspect + 4
		for cut < len(text) && !utf8.RuneStart(text[cut]) {
			cut++
		}
		v = text[:cut]
	}
	s := rubyInspect(v)
	if len(s) <= maxInspect+len("...") {
		return s
	}
	return cutEcho(s) + "..."
}

// elided is the start of a value too large to decode (decodeValue).
type elided []byte

// params reads one JSON object's keys in the order a handler declares them
// and keeps the first error, as Apipie reports only the first.
type params struct {
	obj    map[string]any
	prefix string // "events[3]." for the items of a batch
	err    error
}

func (p *params) fail(err error) {
	if p.err == nil {
		p.err = err
	}
}

func (p *params) name(key string) string { return p.prefix + key }

// lookup returns the key's value and whether the key is there; it reports an
// absent required key.
func (p *params) lookup(key string, required bool) (any, bool) {
	if p.err != nil {
		return nil, false
	}
	v, ok := p.obj[key]
	if !ok && required {
		p.fail(missing(p.name(key)))
	}
	return v, ok
}

// String reads a string key. Null is invalid unless nullable, in which case
// it returns (nil, true).
func (p *params) String(key string, required, nullable bool) (*string, bool) {
	v, ok := p.lookup(key, required)
	if !ok {
		return nil, false
	}
	if v == nil && nullable {
		return nil, true
	}
	s, isString := v.(string)
	if !isString {
		p.fail(invalid(p.name(key), v, ruleString))
		return nil, false
	}
	return &s, true
}

// Text reads a string key that must not be empty, at most max characters
// and free of control characters (names, header keys and values).
func (p *params) Text(key string, required bool, max int) (*string, bool) {
	s, ok := p.String(key, required, false)
	if s == nil {
		return nil, ok
	}
	if !hookd.ValidText(*s, max) {
		p.fail(invalid(p.name(key), *s, fmt.Sprintf("Must be a non-empty String of at most %d characters, without control characters", max)))
		return nil, false
	}
	return s, true
}

// Integer reads an integer key: a JSON integer or a string of digits, as
// Apipie accepts both.
func (p *params) Integer(key string, required, nullable bool) (*int64, bool) {
	v, ok := p.lookup(key, required)
	if !ok {
		return nil, false
	}
	if v == nil && nullable {
		return nil, true
	}
	n, valid := toInteger(v)
	if !valid {
		p.fail(invalid(p.name(key), v, ruleInteger))
		return nil, false
	}
	return &n, true
}

func toInteger(v any) (int64, bool) {
	switch x := v.(type) {
	case json.Number:
		n, err := strconv.ParseInt(x.String(), 10, 64)
		return n, err == nil
	case string:
		n, err := strconv.ParseInt(strings.TrimPrefix(x, "+"), 10, 64)
		return n, err == nil && x != "" && !strings.HasPrefix(x, "+-")
	}
	return 0, false
}

// Boolean reads a boolean key, accepting Apipie's true, false, "true",
// "false", 1, 0, "1" and "0".
func (p *params) Boolean(key string) (*bool, bool) {
	v, ok := p.lookup(key, false)
	if !ok {
		return nil, false
	}
	var b bool
	switch x := v.(type) {
	case bool:
		b = x
	case json.Number, string:
		switch fmt.Sprint(x) {
		case "true", "1":
			b = true
		case "false", "0":
			b = false
		default:
			p.fail(invalid(p.name(key), v, ruleBoolean))
			return nil, false
		}
	default:
		p.fail(invalid(p.name(key), v, ruleBoolean))
		return nil, false
	}
	return &b, true
}

// EventArray reads a non-empty array of trigger event names.
func (p *params) EventArray(key string, required bool) ([]string, bool) {
	v, ok := p.lookup(key, required)
	if !ok {
		return nil, false
	}
	list, isList := v.([]any)
	if !isList || len(list) == 0 {
		p.fail(invalid(p.name(key), v, ruleEventArray))
		return nil, false
	}
	names := make([]string, 0, len(list))
	seen := make(map[string]bool, len(list))
	for _, item := range list {
		s, isString := item.(string)
		if !isString || !hookd.IsEventName(s) {
			p.fail(invalid(p.name(key), v, ruleEventArray))
			return nil, false
		}
		if !seen[s] {
			seen[s] = true
			names = append(names, s)
		}
	}
	return names, true
}

// URL reads an absolute http or https URL.
func (p *params) URL(key string, required bool) (*string, bool) {
	s, ok := p.String(key, required, false)
	if s == nil {
		return nil, ok
	}
	u, err := url.Parse(*s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" || len(*s) > 2048 || u.User != nil ||
		!validPort(u.Port()) {
		p.fail(invalid(p.name(key), *s, "Must be an absolute http or https URL without credentials, at most 2048 characters"))
		return nil, false
	}
	return s, true
}

// validPort reports whether port, a URL's (url.Parse takes any digits),
// is absent or one a connection can be made to.
func validPort(port string) bool {
	if port == "" {
		return true
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= 1 && n <= 65535
}

// HTTPMethod reads one of the delivery methods.
func (p *params) HTTPMethod(key string, required bool) (*string, bool) {
	s, ok := p.String(key, required, false)
	if s == nil {
		return nil, ok
	}
	for _, m := range httpMethods {
		if *s == m {
			return s, true
		}
	}
	p.fail(invalid(p.name(key), *s, ruleHTTPMethod))
	return nil, false
}

// EventName reads one trigger event name.
func (p *params) EventName(key string, required bool) (*string, bool) {
	s, ok := p.String(key, required, false)
	if s == nil {
		return nil, ok
	}
	if !hookd.IsEventName(*s) {
		p.fail(invalid(p.name(key), *s, ruleEventName))
		return nil, false
	}
	return s, true
}

// ProjectID reads a project id: 1 to 64 characters of [A-Za-z0-9_-], or
// null when nullable.
func (p *params) ProjectID(key string, required, nullable bool) (*string, bool) {
	s, ok := p.String(key, required, nullable)
	if s == nil {
		return nil, ok
	}
	if !hookd.ValidProjectID(*s) {
		p.fail(invalid(p.name(key), *s, ruleProjectID))
		return nil, false
	}
	return s, true
}

// rubyInspect prints a decoded JSON value as Ruby's inspect does, which is
// how Apipie shows the rejected value.
func rubyInspect(v any) string {
	var b strings.Builder
	writeInspect(&b, v)
	return b.String()
}

func writeInspect(b *strings.Builder, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("nil")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case json.Number:
		b.WriteString(rubyNumber(x))
	case string:
		writeRubyString(b, x)
	case []any:
		b.WriteByte('[')
		for i, item := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writeInspect(b, item)
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			writeRubyString(b, k)
			b.WriteString("=>")
			writeInspect(b, x[k])
		}
		b.WriteByte('}')
	case elided:
		b.Write(x)
		b.WriteString("...")
	default:
		fmt.Fprint(b, x)
	}
}

// rubyNumber prints integers bare, of any size (Ruby's JSON parses them
// into an Integer, a bignum beyond 64 bits), and floats the way Ruby's
// Float#inspect does (1.0, 1.5, 1.0e+20).
func rubyNumber(n json.Number) string {
	if !strings.ContainsAny(n.String(), ".eE") {
		if n == "-0" {
			return "0"
		}
		return n.String() // JSON writes an integer without leading zeros, as Ruby does
	}
	f, err := strconv.ParseFloat(n.String(), 64)
	if err != nil {
		return n.String()
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e16 {
		return strconv.FormatFloat(f, 'f', 1, 64)
	}
	if math.Abs(f) >= 1e16 || math.Abs(f) < 1e-4 {
		s := strconv.FormatFloat(f, 'e', -1, 64)
		mant, exp, _ := strings.Cut(s, "e")
		if !strings.Contains(mant, ".") {
			mant += ".0"
		}
		return mant + "e" + exp
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

func writeRubyString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		case '\r':
			b.WriteString(`\r`)
		case '\a':
			b.WriteString(`\a`)
		case '\b':
			b.WriteString(`\b`)
		case '\v':
			b.WriteString(`\v`)
		case '\f':
			b.WriteString(`\f`)
		case 0x1b:
			b.WriteString(`\e`)
		case '#':
			// Ruby escapes "#" only where it would start an interpolation.
			if i+1 < len(s) && strings.IndexByte("{$@", s[i+1]) >= 0 {
				b.WriteByte('\\')
			}
			b.WriteByte('#')
		default:
			if r < 0x20 || r == 0x7f {
				fmt.Fprintf(b, `\u%04X`, r)
			} else {
				b.WriteRune(r) // invalid UTF-8 arrives as U+FFFD, which Ruby prints as is
			}
		}
	}
	b.WriteByte('"')
}

func stringsToAny(list []string) []any {
	out := make([]any, len(list))
	for i, s := range list {
		out[i] = s
	}
	return out
}

// Time reads an RFC 3339 timestamp.
func (p *params) Time(key string) (*time.Time, bool) {
	s, ok := p.String(key, false, false)
	if s == nil {
		return nil, ok
	}
	t, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		p.fail(invalid(p.name(key), *s, "Must be a time in RFC 3339 format, e.g. 2023-11-27T09:42:39.937Z"))
		return nil, false
	}
	t = t.UTC()
	return &t, true
}
