package hookd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/checker"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/interpreter"
)

// A webhook's payload filter (WebhookSettings.Filter) is a CEL expression
// over the event: it receives only the events for which the expression is
// true, beyond what its subscriptions (Webhook.Matches) already choose. CEL
// (the language of Kubernetes' validation rules) is not Turing complete,
// type-checks when compiled, reports errors with their position and counts
// the cost of an evaluation, which lets hookd stop a runaway one.
//
// The variables are event (string), project_id (string or null), user_id
// (int or null) and data (the event's data: a map, its numbers doubles).

// Bounds of a filter.
const (
	// MaxFilterLength bounds a filter's source, in bytes.
	MaxFilterLength = 4096
	// FilterCostLimit stops an evaluation that would cost more, in CEL's
	// cost units (about one per operation and per element a comprehension
	// visits): far beyond a sane filter, far below a slow one.
	FilterCostLimit = 100_000
	// FilterTimeLimit stops an evaluation of a filter whose cost is
	// tracked (FilterCostLimit) that runs longer: CEL's cost counts a
	// comparison of two lists or maps as one step however deep they are,
	// so data.items.exists(i, data.a != data.b) over an 86 KB event kept
	// the intake for 13 s within the cost limit. It is wall time, so it is
	// far above what a filter takes, lest a pause on a busy machine stop
	// one that would pass.
	FilterTimeLimit = 100 * time.Millisecond
	// filterNesting bounds the parser's recursion (parentheses, nested
	// calls), so that a short but deep expression cannot exhaust the stack.
	filterNesting = 32
)

// ErrInvalidFilter is wrapped by CompileFilter's errors.
var ErrInvalidFilter = errors.New("invalid filter")

// FilterError tells why a filter does not compile, and where: Line and
// Column (1-based) locate the first error in the source; both are 0 when
// the error is not of one place (the length).
type FilterError struct {
	Line, Column int
	Message      string
}

func (e *FilterError) Error() string {
	if e.Line == 0 {
		return e.Message
	}
	return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Message)
}

// Is makes the error an ErrInvalidFilter.
func (e *FilterError) Is(target error) bool { return target == ErrInvalidFilter }

// Filter is a compiled payload filter, safe for concurrent use. A nil
// *Filter accepts every event.
type Filter struct {
	program cel.Program
	tracked bool // its cost is counted as it runs, and stopped at FilterCostLimit
}

var filterEnv = sync.OnceValues(func() (*cel.Env, error) {
	return cel.NewEnv(
		cel.Variable("event", cel.StringType),
		cel.Variable("project_id", cel.NullableType(cel.StringType)),
		cel.Variable("user_id", cel.NullableType(cel.IntType)),
		cel.Variable("data", cel.MapType(cel.StringType, cel.DynType)),
		// data's numbers are doubles: data.count > 5 must compare them to ints.
		cel.CrossTypeNumericComparisons(true),
		cel.ParserRecursionLimit(filterNesting),
		cel.ParserExpressionSizeLimit(MaxFilterLength),
	)
})

// CompileFilter compiles source; its errors are *FilterError. The filter
// must be of type bool (or dyn, such as data.flag, which must then be a
// bool when evaluated).
func CompileFilter(source string) (*Filter, error) {
	if len(source) > MaxFilterLength {
		return nil, &FilterError{Message: fmt.Sprintf("the filter is %d bytes long: the limit is %d", len(source), MaxFilterLength)}
	}
	if !utf8.ValidString(source) {
		return nil, &FilterError{Message: "the filter is not valid UTF-8"}
	}
	if strings.TrimSpace(source) == "" {
		return nil, &FilterError{Message: "the filter is empty (no filter is null)"}
	}
	env, err := filterEnv()
	if err != nil {
		return nil, err
	}
	ast, iss := env.Compile(source)
	if iss.Err() != nil {
		first := iss.Errors()[0]
		fe := &FilterError{Message: first.Message}
		if first.Location.Line() > 0 { // some errors, such as the recursion limit's, have no place
			fe.Line, fe.Column = first.Location.Line(), max(1, first.Location.Column()+1)
		}
		return nil, fe
	}
	if t := ast.OutputType(); !t.IsExactType(cel.BoolType) && !t.IsExactType(cel.DynType) {
		return nil, &FilterError{Line: 1, Column: 1, Message: fmt.Sprintf("the filter is of type %s: it must be a bool", t)}
	}
	// A filter whose worst case, over any data the intake takes, is within
	// the limit (most: comparisons of fields) runs optimized and untracked,
	// four times faster; the others are tracked, and stopped at the limit.
	opts := []cel.ProgramOption{cel.EvalOptions(cel.OptOptimize)}
	est, err := env.EstimateCost(ast, dataBound{})
	tracked := err != nil || est.Max > FilterCostLimit
	if tracked {
		// Comprehensions look at the clock every 64 rounds (FilterTimeLimit).
		opts = []cel.ProgramOption{cel.CostLimit(FilterCostLimit), cel.InterruptCheckFrequency(64)}
	}
	program, err := env.Program(ast, opts...)
	if err != nil {
		return nil, &FilterError{Message: err.Error()}
	}
	return &Filter{program: program, tracked: tracked}, nil
}

// maxFilterData bounds the size of what a filter reads (a string's
// characters, a list's or map's entries): no event's data is larger than
// the intake's largest body.
const maxFilterData = 16 << 20

// dataBound is the cost estimator of filters: every value of unknown size
// is at most maxFilterData.
type dataBound struct{}

func (dataBound) EstimateSize(checker.AstNode) *checker.SizeEstimate {
	return &checker.SizeEstimate{Min: 0, Max: maxFilterData}
}

func (dataBound) EstimateCallCost(string, string, *checker.AstNode, []checker.AstNode) *checker.CallEstimate {
	return nil
}

// Accepts reports whether the event of in passes the filter. An
// evaluation that fails (a missing key of data, a value of another type, a
// cost beyond FilterCostLimit, a time beyond FilterTimeLimit) or that is
// not a bool does not pass: the
// event is not for this webhook, and a filter that means otherwise can say
// so with has() or ?: .
func (f *Filter) Accepts(in *FilterInput) bool {
	ok, _ := f.Eval(in)
	return ok
}

// Eval is Accepts with the evaluation's error, for tests and tools.
func (f *Filter) Eval(in *FilterInput) (bool, error) {
	if f == nil {
		return true, nil
	}
	var out ref.Val
	var err error
	if f.tracked {
		in.ResolveName("data") // parsed before the clock starts: its size is the intake's to bound
		ctx, cancel := context.WithTimeout(context.Background(), FilterTimeLimit)
		out, _, err = f.program.ContextEval(ctx, in)
		cancel()
	} else {
		out, _, err = f.program.Eval(in)
	}
	if err != nil {
		return false, err
	}
	b, isBool := out.Value().(bool)
	if !isBool {
		return false, fmt.Errorf("the filter is a %s, not a bool", out.Type())
	}
	return b, nil
}

// FilterInput is an event as filters read it, for every filter that an
// event meets: its data is parsed once, by the first filter that reads
// it, so an event meets no JSON parsing unless a filter reads data.
type FilterInput struct {
	e      *Event
	data   any
	parsed bool
}

// NewFilterInput returns the input of filters for e.
func NewFilterInput(e *Event) *FilterInput { return &FilterInput{e: e} }

// ResolveName implements interpreter.Activation.
func (in *FilterInput) ResolveName(name string) (any, bool) {
	switch name {
	case "event":
		return in.e.Event, true
	case "project_id":
		if in.e.ProjectID == nil {
			return types.NullValue, true
		}
		return *in.e.ProjectID, true
	case "user_id":
		if in.e.UserID == nil {
			return types.NullValue, true
		}
		return *in.e.UserID, true
	case "data":
		if !in.parsed {
			in.parsed = true
			// Data Go cannot read (a number beyond float64, such as 1e400)
			// leaves data unresolved: the filter fails, which is false.
			if err := json.Unmarshal(in.e.Data, &in.data); err != nil {
				in.data = nil
			}
		}
		return in.data, in.data != nil
	}
	return nil, false
}

// Parent implements interpreter.Activation.
func (in *FilterInput) Parent() interpreter.Activation { return nil }

// filterSources keeps compiled filters by source, so that building the
// index of subscriptions again compiles only the filters it has not seen.
type filterSources map[string]*Filter

// compile returns the filter of source, compiled once; nil for "". A stored
// filter that no longer compiles (a later CEL refusing what an earlier one
// took) is a filter that accepts nothing, rather than one that lets every
// event through.
func (fs filterSources) compile(source string) *Filter {
	if strings.TrimSpace(source) == "" {
		return nil
	}
	if f, ok := fs[source]; ok {
		return f
	}
	f, err := CompileFilter(source)
	if err != nil {
		f, _ = CompileFilter("false")
	}
	fs[source] = f
	return f
}
