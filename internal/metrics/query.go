package metrics

import (
	"context"
	"errors"
	"strings"
	"time"
)

// ObserveQuery records a statement a store ran (a hookd.QueryObserver: the
// stores call it from their database driver, given with
// storeopt.WithQueryObserver) in hookd_db_operation_duration_seconds, and
// counts it in hookd_db_errors_total when it failed, under its operation
// (Operation). A caller that gave up is not a failure of the database.
func (m *Metrics) ObserveQuery(query string, elapsed time.Duration, err error) {
	op := m.operation(query)
	m.dbDuration.WithLabelValues(op).Observe(elapsed.Seconds())
	if err != nil && !errors.Is(err, context.Canceled) {
		m.dbErrors.WithLabelValues(op).Inc()
	}
}

// Operation names what a statement does, for the operation label: its verb
// and the table it reads or changes ("select webhooks", "update
// deliveries", "insert attempts"), or "begin", "commit", "rollback",
// "listen". The statements are hookd's own, so the set is small and fixed;
// anything else (migrations) is "other".
func Operation(query string) string {
	words := topLevelWords(query)
	if len(words) == 0 {
		return "other"
	}
	verb := words[0]
	if verb == "with" {
		// The statement follows its common table expressions.
		verb = ""
		for i, w := range words {
			if dml[w] {
				verb, words = w, words[i:]
				break
			}
		}
	}
	switch verb {
	case "begin", "commit", "rollback", "listen":
		return verb
	case "select":
		return withTable(verb, after(words, "from"))
	case "insert":
		return withTable(verb, after(words, "into"))
	case "delete":
		return withTable(verb, after(words, "from"))
	case "update":
		if len(words) > 2 && words[1] == "or" { // UPDATE OR IGNORE t
			return withTable(verb, words[3:])
		}
		return withTable(verb, words[1:])
	}
	return "other"
}

// operationCacheSize bounds the statements whose operation is remembered:
// hookd's are a few dozen, and a few more texts per number of values (IN
// lists, multi-row inserts).
const operationCacheSize = 1000

// operation is Operation(query), remembered: it is asked for every
// statement.
func (m *Metrics) operation(query string) string {
	if op, ok := m.operations.Load(query); ok {
		return op.(string)
	}
	op := Operation(query)
	if m.cachedOperations.Add(1) <= operationCacheSize {
		m.operations.Store(query, op)
	}
	return op
}

var dml = map[string]bool{"select": true, "insert": true, "update": true, "delete": true}

// after returns the words after the first word w.
func after(words []string, w string) []string {
	for i, x := range words {
		if x == w {
			return words[i+1:]
		}
	}
	return nil
}

// withTable is verb and the table that rest starts with, or verb alone when
// rest does not start with a name (SELECT 1, a subquery).
func withTable(verb string, rest []string) string {
	if len(rest) == 0 || !isName(rest[0]) {
		return verb
	}
	table := rest[0]
	if i := strings.LastIndexByte(table, '.'); i >= 0 { // schema.table
		table = table[i+1:]
	}
	return verb + " " + table
}

func isName(w string) bool {
	if w == "" || w[0] == '.' || w[len(w)-1] == '.' || (w[0] >= '0' && w[0] <= '9') {
		return false
	}
	for _, c := range w {
		if !(c == '_' || c == '.' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// topLevelWords returns the lower-case words of query outside parentheses,
// string literals and comments, in order, with "(" for what is between
// parentheses; punctuation other than '.' separates words.
func topLevelWords(query string) []string {
	var words []string
	depth := 0
	word := strings.Builder{}
	flush := func() {
		if word.Len() > 0 {
			if depth == 0 {
				words = append(words, strings.ToLower(word.String()))
			}
			word.Reset()
		}
	}
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '-' && strings.HasPrefix(query[i:], "--"):
			flush()
			end := strings.IndexByte(query[i:], '\n')
			if end < 0 {
				return words
			}
			i += end
		case c == '/' && strings.HasPrefix(query[i:], "/*"):
			flush()
			end := strings.Index(query[i+2:], "*/")
			if end < 0 {
				return words
			}
			i += 2 + end + 1
		case c == '\'' || c == '"':
			flush()
			end := strings.IndexByte(query[i+1:], c)
			if end < 0 {
				return words
			}
			if c == '"' && depth == 0 { // a quoted name is a word
				words = append(words, strings.ToLower(query[i+1:i+1+end]))
			}
			i += 1 + end
		case c == '(':
			flush()
			if depth == 0 { // a subquery or a list stands as one word
				words = append(words, "(")
			}
			depth++
		case c == ')':
			flush()
			depth = max(0, depth-1)
		case c == '_' || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9':
			word.WriteByte(c)
		default:
			flush()
		}
	}
	flush()
	return words
}
