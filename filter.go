package hookd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/checker"
	"github.com/google/cel-go/common"
	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/overloads"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
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
	// FilterCostLimit is what an evaluation may cost, in CEL's cost units
	// (about one per operation and per element a comprehension visits),
	// beyond its reads of the event's data (filterDataReads): far beyond a
	// sane filter, far below a slow one.
	FilterCostLimit = 100_000
	// filterDataReads is how many reads of the largest event an evaluation
	// may make on top of FilterCostLimit (filterCostBudget): the intake
	// bounds an event's size (maxFilterData), so a few reads of it
	// (size(data.caption) of a 15 MB caption, a comparison, a map lookup)
	// take milliseconds; reading it many times over (a loop over data that
	// reads data) is what runs away.
	filterDataReads = 4
	// FilterTimeLimit stops an evaluation of a filter whose cost is
	// tracked (filterCostBudget) that runs longer: CEL's cost counts a
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
	tracked bool // its cost is counted as it runs, and stopped beyond filterCostBudget
}

// filterVariables are what a filter reads of an event.
var filterVariables = map[string]*cel.Type{
	"event":      cel.StringType,
	"project_id": cel.NullableType(cel.StringType),
	"user_id":    cel.NullableType(cel.IntType),
	"data":       cel.MapType(cel.StringType, cel.DynType),
}

// filterCostBudget is what an evaluation may cost: FilterCostLimit and a
// few reads of the largest event (filterDataReads). A filter whose worst
// case is within it runs untracked; a tracked one is stopped beyond it.
var filterCostBudget = FilterCostLimit + filterDataReads*traversal(maxFilterData)

// mapKeyFunction wraps each key of a map literal that is not a constant
// ({data.s: 1}), so that filterCost prices the key's hashing, which reads
// the whole string, and which CEL prices as nothing. Its name begins with
// @, which no filter's source can call.
const mapKeyFunction = "@hookd_map_key"

// pricedMapKeys wraps the keys of map literals in mapKeyFunction.
type pricedMapKeys struct{}

func (pricedMapKeys) Optimize(ctx *cel.OptimizerContext, a *ast.AST) *ast.AST {
	for _, m := range ast.MatchDescendants(ast.NavigateAST(a), ast.KindMatcher(ast.MapKind)) {
		for _, entry := range m.AsMap().Entries() {
			if key := entry.AsMapEntry().Key(); key.Kind() != ast.LiteralKind {
				copied, _ := ctx.CopyAST(ctx.NewAST(key))
				ctx.UpdateExpr(key, ctx.NewCall(mapKeyFunction, copied))
			}
		}
	}
	return a
}

var filterEnv = sync.OnceValues(func() (*cel.Env, error) {
	opts := []cel.EnvOption{
		// data's numbers are doubles: data.count > 5 must compare them to ints.
		cel.CrossTypeNumericComparisons(true),
		cel.ParserRecursionLimit(filterNesting),
		cel.ParserExpressionSizeLimit(MaxFilterLength),
		cel.Function(mapKeyFunction, cel.Overload("hookd_map_key", []*cel.Type{cel.TypeParamType("K")}, cel.TypeParamType("K"),
			cel.UnaryBinding(func(key ref.Val) ref.Val { return key }))),
	}
	for name, t := range filterVariables {
		opts = append(opts, cel.Variable(name, t))
	}
	return cel.NewEnv(opts...)
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
	optimizer, err := cel.NewStaticOptimizer(pricedMapKeys{})
	if err != nil {
		return nil, err
	}
	ast, iss = optimizer.Optimize(env, ast)
	if iss.Err() != nil {
		return nil, &FilterError{Message: iss.Err().Error()}
	}
	// A filter whose worst case, over any data the intake takes, is within
	// the budget, and its steps within FilterCostLimit (most: comparisons
	// of fields, a few reads of data), runs
	// optimized and untracked, four times faster; the others are tracked,
	// and stopped beyond the budget or FilterTimeLimit.
	opts := []cel.ProgramOption{cel.EvalOptions(cel.OptOptimize)}
	est, err := env.EstimateCost(ast, filterCost{})
	tracked := err != nil || est.Max > filterCostBudget
	if !tracked {
		// The allowance of reads is no allowance of steps.
		steps, err := env.EstimateCost(ast, filterSteps)
		tracked = err != nil || steps.Max > FilterCostLimit
	}
	if tracked {
		// Comprehensions look at the clock (FilterTimeLimit) every round, as
		// one round may read data many times over (20 maps keyed by a 15 MB
		// string): it costs a tracked filter 2% of its time.
		opts = []cel.ProgramOption{cel.CostLimit(filterCostBudget), cel.CostTracking(filterCost{}), cel.InterruptCheckFrequency(1)}
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
const maxFilterData = MaxBatchBytes

// filterCost prices filters before they run (checker.CostEstimator) and,
// when tracked, as they run (interpreter.ActualCostEstimator), where CEL's
// own prices are no bound: it prices a comparison by the number of entries
// of the two values, not all they hold ([data.a] == [data.b] compares two
// lists of one entry and the lists inside), and size(), conversions, time
// zones and map keys as one step, though each reads its whole string. So
// [1,2,3].all(x, [data.a] == [data.b]) was priced 20 and ran untracked for
// seconds. With steps set, it prices reading a string as CEL does, nothing
// (filterSteps): what is left counts the steps, each worth about 100 ns,
// where a unit of reading is worth 1 ns.
type filterCost struct{ steps bool }

// filterSteps prices a filter's steps only, so that the allowance of reads
// (filterDataReads) is not spent on them.
var filterSteps = filterCost{steps: true}

// read is the price of reading n characters: CEL's (traversal), or nothing
// when only steps count.
func (c filterCost) read(n uint64) uint64 {
	if c.steps {
		return 0
	}
	return traversal(n)
}

// EstimateSize bounds the values read from the event's variables, data and
// what it holds; CEL sizes the others (a literal's, an iteration variable's
// over a literal), or takes them for unbounded.
func (filterCost) EstimateSize(n checker.AstNode) *checker.SizeEstimate {
	if path := n.Path(); len(path) == 0 || filterVariables[path[0]] == nil {
		return nil
	}
	return &checker.SizeEstimate{Min: 0, Max: maxFilterData}
}

// EstimateCallCost bounds a comparison by what it may visit and a call that
// reads a string by the string's size; other calls are CEL's to price.
func (c filterCost) EstimateCallCost(function, overloadID string, target *checker.AstNode, args []checker.AstNode) *checker.CallEstimate {
	if target != nil {
		args = append([]checker.AstNode{*target}, args...)
	}
	var bound uint64
	switch {
	case overloadID == overloads.Equals || overloadID == overloads.NotEquals:
		bound = min(c.comparedBound(args[0]), c.comparedBound(args[1]))
	case overloadID == overloads.InList:
		bound = c.containsBound(args[0], args[1])
	default:
		i, reads := stringArgument[function]
		if !reads || i >= len(args) || !mayBeString(args[i].Type()) || c.steps {
			return nil
		}
		bound = 1 + traversal(sizeOf(args[i]).Max)
	}
	return &checker.CallEstimate{CostEstimate: checker.CostEstimate{Min: 1, Max: bound}}
}

// stringArgument: the functions that read the whole of a string argument
// (with a target, its index counts the target first), which CEL prices as
// one step, or not at all: a map's key is hashed to look it up (@in,
// _[_]) or to build a map (mapKeyFunction), a time zone is looked up by
// name.
var stringArgument = map[string]int{
	overloads.Size:                 0,
	overloads.TypeConvertInt:       0,
	overloads.TypeConvertUint:      0,
	overloads.TypeConvertDouble:    0,
	overloads.TypeConvertString:    0,
	overloads.TypeConvertBytes:     0,
	overloads.TypeConvertTimestamp: 0,
	overloads.TypeConvertDuration:  0,
	mapKeyFunction:                 0,
	operators.In:                   0,
	operators.Index:                1,
	overloads.TimeGetFullYear:      1,
	overloads.TimeGetMonth:         1,
	overloads.TimeGetDayOfYear:     1,
	overloads.TimeGetDate:          1,
	overloads.TimeGetDayOfMonth:    1,
	overloads.TimeGetDayOfWeek:     1,
	overloads.TimeGetHours:         1,
	overloads.TimeGetMinutes:       1,
	overloads.TimeGetSeconds:       1,
	overloads.TimeGetMilliseconds:  1,
}

// comparedBound bounds the cost of comparing n's value with any other: a
// comparison stops at the first entries that differ in number, so a
// constant bounds it; a scalar is one step and a string its characters;
// but a list, map or dyn that the filter computes may hold data's largest
// list any number of times, so nothing bounds it.
func (c filterCost) comparedBound(n checker.AstNode) uint64 {
	if bound, constant := c.constantBound(n.Expr()); constant {
		return bound
	}
	switch n.Type().Kind() {
	case types.BoolKind, types.IntKind, types.UintKind, types.DoubleKind, types.NullTypeKind,
		types.TimestampKind, types.DurationKind, types.TypeKind:
		return 1
	case types.StringKind, types.BytesKind:
		return 1 + c.read(sizeOf(n).Max)
	}
	return math.MaxUint64
}

// constantBound bounds the cost of comparing the constant e (no variable in
// it) with any value; false if e is not a constant. Each entry of a map
// costs a lookup of the other map's key, which may be as long as an event.
func (c filterCost) constantBound(e ast.Expr) (uint64, bool) {
	switch e.Kind() {
	case ast.LiteralKind:
		switch v := e.AsLiteral().(type) {
		case types.String:
			return 1 + c.read(uint64(len(v))), true
		case types.Bytes:
			return 1 + c.read(uint64(len(v))), true
		}
		return 1, true
	case ast.ListKind:
		bound := uint64(1)
		for _, element := range e.AsList().Elements() {
			b, constant := c.constantBound(element)
			if !constant {
				return 0, false
			}
			bound = saturatingAdd(bound, b)
		}
		return bound, true
	case ast.MapKind:
		bound := uint64(1)
		for _, entry := range e.AsMap().Entries() {
			_, constantKey := c.constantBound(entry.AsMapEntry().Key())
			b, constantValue := c.constantBound(entry.AsMapEntry().Value())
			if !constantKey || !constantValue {
				return 0, false
			}
			bound = saturatingAdd(bound, saturatingAdd(1+c.read(maxFilterData), b))
		}
		return bound, true
	}
	return 0, false
}

// containsBound bounds x in list: a comparison of x with each entry.
func (c filterCost) containsBound(x, list checker.AstNode) uint64 {
	xBound := c.comparedBound(x)
	if list.Expr().Kind() != ast.ListKind {
		return saturatingAdd(1, saturatingMultiply(sizeOf(list).Max, xBound))
	}
	bound := uint64(1)
	for _, element := range list.Expr().AsList().Elements() {
		elementBound, constant := c.constantBound(element)
		if !constant {
			elementBound = math.MaxUint64
		}
		bound = saturatingAdd(bound, min(xBound, elementBound))
	}
	return bound
}

func mayBeString(t *types.Type) bool {
	switch t.Kind() {
	case types.StringKind, types.BytesKind, types.DynKind, types.AnyKind, types.TypeParamKind:
		return true
	}
	return false
}

func sizeOf(n checker.AstNode) checker.SizeEstimate {
	if size := n.ComputedSize(); size != nil {
		return *size
	}
	return checker.UnknownSizeEstimate()
}

// traversal is CEL's price of reading n characters.
func traversal(n uint64) uint64 {
	return uint64(math.Ceil(float64(n) * common.StringTraversalCostFactor))
}

func saturatingAdd(a, b uint64) uint64 {
	if sum, carry := bits.Add64(a, b, 0); carry == 0 {
		return sum
	}
	return math.MaxUint64
}

func saturatingMultiply(a, b uint64) uint64 {
	if high, low := bits.Mul64(a, b); high == 0 {
		return low
	}
	return math.MaxUint64
}

// CallCost prices a call of a tracked filter as EstimateCallCost bounds
// it, from the values it was given, so that the cost limit stops what CEL
// would count as one step. It runs after the call: a single comparison or
// string is not stopped, but one over the limit stops the filter.
func (filterCost) CallCost(function, _ string, args []ref.Val, _ ref.Val) *uint64 {
	var cost uint64
	switch function {
	case operators.Equals, operators.NotEquals:
		cost, _ = comparisonCost(args[0], args[1], runtimeCostCap)
	case operators.Less, operators.LessEquals, operators.Greater, operators.GreaterEquals:
		cost = 1 + traversal(min(stringLength(args[0]), stringLength(args[1])))
	case operators.Add:
		cost = 1 + traversal(stringLength(args[0])+stringLength(args[1]))
	case operators.In:
		if list, isList := args[1].(traits.Lister); isList {
			cost = containsCost(args[0], list)
		} else {
			cost = 1 + traversal(stringLength(args[0])) // a map's key, hashed to look it up
		}
	default:
		i, reads := stringArgument[function]
		if !reads || i >= len(args) {
			return nil
		}
		cost = 1 + traversal(stringLength(args[i]))
	}
	return &cost
}

// runtimeCostCap: no walk of CallCost goes past the cost budget, where the
// evaluation stops.
var runtimeCostCap = filterCostBudget + 1

// comparisonCost is the cost of comparing a with b as CEL does, up to
// budget: entry by entry, stopping at the first difference; it reports
// whether they are equal.
func comparisonCost(a, b ref.Val, budget uint64) (cost uint64, equal bool) {
	switch a := a.(type) {
	case types.String, types.Bytes:
		if stringLength(a) != stringLength(b) {
			return 1, false
		}
		return 1 + traversal(stringLength(a)), a.Equal(b) == types.True
	case traits.Lister:
		other, isList := b.(traits.Lister)
		if !isList || a.Size() != other.Size() {
			return 1, false
		}
		cost = 1
		for i := types.Int(0); i < a.Size().(types.Int) && cost < budget; i++ {
			c, eq := comparisonCost(a.Get(i), other.Get(i), budget-cost)
			if cost += c; !eq {
				return cost, false
			}
		}
		return cost, true
	case traits.Mapper:
		other, isMap := b.(traits.Mapper)
		if !isMap || a.Size() != other.Size() {
			return 1, false
		}
		cost = 1
		for it := a.Iterator(); it.HasNext() == types.True && cost < budget; {
			key := it.Next()
			cost += 1 + traversal(stringLength(key)) // hashed to look it up in b
			value, found := other.Find(key)
			if !found {
				return cost, false
			}
			c, eq := comparisonCost(a.Get(key), value, budget-cost)
			if cost += c; !eq {
				return cost, false
			}
		}
		return cost, true
	}
	return 1, a.Equal(b) == types.True
}

// containsCost is the cost of x in list: comparisons up to the first equal
// entry, each one step for a scalar x.
func containsCost(x ref.Val, list traits.Lister) uint64 {
	switch x.(type) {
	case types.String, types.Bytes, traits.Lister, traits.Mapper:
	default:
		return 1 + uint64(list.Size().(types.Int))
	}
	cost := uint64(1)
	for it := list.Iterator(); it.HasNext() == types.True && cost < runtimeCostCap; {
		c, eq := comparisonCost(x, it.Next(), runtimeCostCap-cost)
		if cost += c; eq {
			break
		}
	}
	return cost
}

func stringLength(v ref.Val) uint64 {
	switch v := v.(type) {
	case types.String:
		return uint64(len(v))
	case types.Bytes:
		return uint64(len(v))
	}
	return 0
}

// Accepts reports whether the event of in passes the filter. An
// evaluation that fails (a missing key of data, a value of another type, a
// cost beyond filterCostBudget, a time beyond FilterTimeLimit) or that is
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
