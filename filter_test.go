package hookd

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// filterEvents are the events of the filter table: each case says which of
// them (by index) its filter accepts.
func filterEvents() []*Event {
	p, q := "P1", "P2"
	u7, u8 := int64(7), int64(8)
	return []*Event{
		0: {Event: "ASSET_ADDED", ProjectID: &p, UserID: &u7, Data: json.RawMessage(`{"kind":"video","size":10,"tags":["a","b"],"meta":{"ok":true}}`)},
		1: {Event: "ASSET_ADDED", ProjectID: &q, UserID: &u8, Data: json.RawMessage(`{"kind":"image","size":2.5}`)},
		2: {Event: "ASSET_DELETED", Data: json.RawMessage(`{}`)},
		3: {Event: "ASSET_DELETED", ProjectID: &p, Data: json.RawMessage(`{"kind":"video","size":"big","meta":{"ok":false}}`)},
	}
}

func TestFilterMatches(t *testing.T) {
	for _, c := range []struct {
		filter string
		want   []int
	}{
		{`true`, []int{0, 1, 2, 3}},
		{`false`, nil},
		{`event == "ASSET_ADDED"`, []int{0, 1}},
		{`event.startsWith("ASSET_D")`, []int{2, 3}},
		{`project_id == "P1"`, []int{0, 3}},
		{`project_id == null`, []int{2}},
		{`project_id != null && project_id != "P2"`, []int{0, 3}},
		{`user_id == 7`, []int{0}},
		{`user_id == null`, []int{2, 3}},
		{`user_id > 7`, []int{1}},
		{`data.kind == "video"`, []int{0, 3}},
		// A missing key is an error: the event does not pass...
		{`data.kind != "video"`, []int{1}},
		// ...unless the filter asks has() first.
		{`!has(data.kind) || data.kind != "video"`, []int{1, 2}},
		{`data.size > 5`, []int{0}},   // a double against an int; "big" is an error
		{`data.size == 10`, []int{0}}, // data's 10 is the double 10.0
		{`data.size < 3.0`, []int{1}},
		{`"b" in data.tags`, []int{0}},
		{`has(data.tags) && data.tags.exists(t, t == "a")`, []int{0}},
		{`data.meta.ok`, []int{0}}, // dyn: a bool when evaluated
		{`has(data.meta) && !data.meta.ok`, []int{3}},
		{`data.kind`, nil}, // a string is not a bool: no event passes
		{`size(data) == 0`, []int{2}},
		{`event in ["ASSET_DELETED"] && (project_id == "P1" || user_id == 8)`, []int{3}},
	} {
		f, err := CompileFilter(c.filter)
		if err != nil {
			t.Errorf("CompileFilter(%q): %v", c.filter, err)
			continue
		}
		var got []int
		for i, e := range filterEvents() {
			if f.Accepts(NewFilterInput(e)) {
				got = append(got, i)
			}
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s accepts events %v, want %v", c.filter, got, c.want)
		}
	}
}

func TestFilterRefused(t *testing.T) {
	for _, c := range []struct {
		filter       string
		line, column int
		message      string
	}{
		{`event ==`, 1, 9, "Syntax error"},
		{`evnt == "A"`, 1, 1, "undeclared reference to 'evnt'"},
		{"event == \"A\" &&\n  user_id == \"x\"", 2, 11, "found no matching overload for '_==_'"},
		{`event`, 1, 1, "the filter is of type string: it must be a bool"},
		{`data.size + 1`, 1, 1, "it must be a bool"},
		{strings.Repeat("(", 100) + "true" + strings.Repeat(")", 100), 0, 0, "recursion limit exceeded"},
		{"event == '" + strings.Repeat("x", MaxFilterLength) + "'", 0, 0, fmt.Sprintf("the limit is %d", MaxFilterLength)},
		{"event == '\xff'", 0, 0, "not valid UTF-8"},
	} {
		_, err := CompileFilter(c.filter)
		var fe *FilterError
		if !errors.As(err, &fe) || !errors.Is(err, ErrInvalidFilter) {
			t.Errorf("CompileFilter(%.40q) = %v, want a *FilterError", c.filter, err)
			continue
		}
		if fe.Line != c.line || (c.column > 0 && fe.Column != c.column) || !strings.Contains(fe.Message, c.message) {
			t.Errorf("CompileFilter(%.40q) = %q at %d:%d, want %q at %d:%d", c.filter, fe.Message, fe.Line, fe.Column, c.message, c.line, c.column)
		}
	}
}

// TestFilterCostLimit runs filters that would take very long: CEL's cost
// tracking (or FilterTimeLimit) stops them, and the event does not pass.
func TestFilterCostLimit(t *testing.T) {
	list := "[" + strings.TrimSuffix(strings.Repeat("1,", 100), ",") + "]"
	e := &Event{Event: "ASSET_ADDED", Data: json.RawMessage(`{"items":` + list + `,"pad":"` + strings.Repeat("x", 1<<20) + `"}`)}
	for _, source := range []string{
		// Strings of 200 MB in all from 1 MB of data.
		strings.Repeat("data.pad + ", 20) + `"" == ""`,
		// 100^3 iterations from a short literal.
		list + `.all(a, ` + list + `.all(b, ` + list + `.all(c, a + b + c > 0)))`,
		// The same over the event's own data.
		`data.items.all(a, data.items.all(b, data.items.all(c, a + b + c > 0)))`,
	} {
		f, err := CompileFilter(source)
		if err != nil {
			t.Fatalf("CompileFilter: %v", err)
		}
		if !f.tracked {
			t.Errorf("%.50s...: not tracked", source)
		}
		ok, err := f.Eval(NewFilterInput(e))
		// Stopped by the cost limit, or by the time limit on a busy machine.
		if ok || err == nil || !strings.Contains(err.Error(), "cost limit exceeded") && !strings.Contains(err.Error(), "interrupted") {
			t.Errorf("%.50s... = %v, %v; want stopped by the cost limit", source, ok, err)
		}
	}
	// A filter within the limit over the same data passes.
	f, _ := CompileFilter(`data.items.all(a, a == 1)`)
	if !f.Accepts(NewFilterInput(e)) {
		t.Error("a filter within the cost limit was stopped")
	}
	// Comparisons of fields cannot run away: they run untracked.
	for _, source := range []string{`data.pad == "x" && event == "A"`, `has(data.items) && user_id != null || project_id == "P"`} {
		if f, _ := CompileFilter(source); f.tracked {
			t.Errorf("%s is tracked", source)
		}
	}
}

// TestFilterParsesDataOnce: filters that do not read data leave it
// unparsed, and those that do share one parse.
func TestFilterParsesDataOnce(t *testing.T) {
	e := &Event{Event: "A", Data: json.RawMessage(`{"n":1}`)}
	in := NewFilterInput(e)
	f, _ := CompileFilter(`event == "A"`)
	if !f.Accepts(in) || in.parsed {
		t.Fatal("a filter that does not read data parsed it")
	}
	// Data Go cannot read fails the filters that read it.
	huge := NewFilterInput(&Event{Event: "A", Data: json.RawMessage(`{"n":1e400}`)})
	if h, _ := CompileFilter(`!has(data.x)`); h.Accepts(huge) || !f.Accepts(huge) {
		t.Error("unreadable data passed a filter that reads it, or failed one that does not")
	}
	g, _ := CompileFilter(`data.n == 1`)
	if !g.Accepts(in) || !in.parsed {
		t.Fatal("data was not parsed")
	}
	e.Data = json.RawMessage(`{"n":2}`) // not read again
	if !g.Accepts(in) {
		t.Error("data was parsed twice")
	}
}

func TestSubscriptionsMatchFilters(t *testing.T) {
	events := filterEvents()
	hooks := []*Webhook{
		{ID: 1, TriggerEvents: []string{"ASSET_ADDED", "ASSET_DELETED"}},
		{ID: 2, TriggerEvents: []string{"ASSET_ADDED", "ASSET_DELETED"}, Filter: `data.kind == "video"`},
		{ID: 3, TriggerEvents: []string{"ASSET_ADDED"}, Filter: `user_id == 8`},
		{ID: 4, TriggerEvents: []string{"ASSET_DELETED"}, Disabled: true, Filter: `true`},
		{ID: 5, TriggerEvents: []string{"ASSET_DELETED"}, Filter: `not a filter`}, // accepts nothing
	}
	subs := NewSubscriptions(hooks)
	want := [][]int64{{1, 2}, {1, 3}, {1}, {1, 2}}
	for i, e := range events {
		if got := subs.Match(e); !slices.Equal(got, want[i]) {
			t.Errorf("event %d: Match = %v, want %v", i, got, want[i])
		}
	}
}

// TestSubscriptionCacheCompilesOnce: building the index again reuses the
// filters it compiled.
func TestSubscriptionCacheCompilesOnce(t *testing.T) {
	var c SubscriptionCache
	hooks := []*Webhook{{ID: 1, TriggerEvents: []string{"A"}, Filter: `event == "A"`}}
	load := func() ([]*Webhook, error) { return hooks, nil }
	c.At(1, load)
	first := c.filters[`event == "A"`]
	c.At(2, load)
	if f := c.filters[`event == "A"`]; f == nil || f != first {
		t.Error("the filter was compiled again")
	}
	if c.Filter(`event == "A"`) != first {
		t.Error("Filter compiled a filter of the index again")
	}
	hooks = []*Webhook{{ID: 1, TriggerEvents: []string{"A"}}}
	c.At(3, load)
	if len(c.filters) != 0 {
		t.Error("a filter no longer used was kept")
	}
}

// BenchmarkMatchFilters matches an event against 1,000 webhooks subscribed
// to it, each with a filter that reads data.
func BenchmarkMatchFilters(b *testing.B) {
	var hooks []*Webhook
	for i := range 1000 {
		hooks = append(hooks, &Webhook{ID: int64(i + 1), TriggerEvents: []string{"ASSET_ADDED"}, Filter: fmt.Sprintf(`data.size > %d`, i)})
	}
	index := NewSubscriptions(hooks)
	e := &Event{Event: "ASSET_ADDED", Data: json.RawMessage(`{"size":500,"kind":"video"}`)}
	for b.Loop() {
		if n := len(index.Match(e)); n != 500 {
			b.Fatalf("%d matches, want 500", n)
		}
	}
}

// A filter whose cost CEL counts low, as it counts a comparison of two
// lists as one step however long they are, is stopped at FilterTimeLimit:
// over an event of 2,000 items and two lists of 20,000 numbers it ran for
// seconds, holding up every publish behind it.
func TestFilterStoppedAtTheTimeLimit(t *testing.T) {
	f, err := CompileFilter(`data.items.exists(i, data.before != data.after)`)
	if err != nil {
		t.Fatal(err)
	}
	numbers := strings.TrimSuffix(strings.Repeat("1,", 20_000), ",")
	items := strings.TrimSuffix(strings.Repeat("0,", 2_000), ",")
	e := &Event{Event: "ASSET_ADDED", Data: json.RawMessage(`{"items":[` + items + `],"before":[[` + numbers + `]],"after":[[` + numbers + `]]}`)}
	ok, err := f.Eval(NewFilterInput(e))
	if ok || err == nil {
		t.Fatalf("evaluated to %v, %v; want stopped", ok, err)
	}
	// A small event passes through the same filter as before.
	small := &Event{Event: "ASSET_ADDED", Data: json.RawMessage(`{"items":[0],"before":[1],"after":[2]}`)}
	if ok, err := f.Eval(NewFilterInput(small)); !ok || err != nil {
		t.Fatalf("the small event: %v, %v", ok, err)
	}
}

// CEL prices a comparison by the entries of its two values, not all they
// hold, and size() or a conversion of a string as one step: such filters
// over literal lists were priced a few dozen and ran untracked, one of
// them for 16 s over a 6 MB event. filterCost bounds them (data and what
// it holds at the size of the intake's largest body), so they are tracked,
// and prices them as they run, so the cost limit (or, for the comparisons
// of lists, slower per unit, the time limit) stops them.
func TestFilterHiddenCostTracked(t *testing.T) {
	// 100 comparisons of lists of 100,000 pass the budget: the cost limit
	// stops them on a fast machine, the time limit on a slow one (one
	// comparison, which nothing interrupts, took 35 ms on a busy one).
	numbers := strings.TrimSuffix(strings.Repeat("1,", 100_000), ",")
	e := &Event{Event: "ASSET_ADDED", Data: json.RawMessage(`{"a":[` + numbers + `],"b":[` + numbers + `],"s":"` + strings.Repeat("1", 2<<20) + `"}`)}
	ten := "[" + strings.TrimSuffix(strings.Repeat("1,", 10), ",") + "]"
	for _, source := range []string{
		ten + `.all(x, ` + ten + `.all(y, [data.a] == [data.b]))`,
		ten + `.all(x, ` + ten + `.all(y, data.a in [data.b]))`,
		ten + `.all(x, ` + ten + `.all(y, {"k": data.a} == {"k": data.b}))`,
		ten + `.all(x, ` + ten + `.all(y, size(data.s) > 0))`,
		ten + `.all(x, ` + ten + `.all(y, data.s + data.s != ""))`,
		ten + `.all(x, ` + ten + `.all(y, {"1": 1}[data.s] == 1 || int(data.s) > 0))`,
	} {
		f, err := CompileFilter(source)
		if err != nil {
			t.Fatalf("CompileFilter: %v", err)
		}
		assertStopped(t, f, e, source)
	}
}

// assertStopped: f, tracked, is stopped over e by its cost or its time
// (which error says which; how long it took is no test's to judge on a
// shared machine).
func assertStopped(t *testing.T, f *Filter, e *Event, source string) {
	t.Helper()
	if !f.tracked {
		t.Errorf("%.70s...: not tracked", source)
	}
	in := NewFilterInput(e)
	in.ResolveName("data")
	ok, err := f.Eval(in)
	if ok || err == nil || !strings.Contains(err.Error(), "cost limit exceeded") && !strings.Contains(err.Error(), "interrupted") {
		t.Errorf("%.70s... = %v, %.80v; want stopped", source, ok, err)
	}
}

// The allowance of reads of data is no allowance of steps: six nested
// macros over ten numbers, a million steps of about 100 ns, are tracked
// although their estimate is within the budget of reads.
func TestFilterStepsTracked(t *testing.T) {
	ten := "[0,1,2,3,4,5,6,7,8,9]"
	source := "true"
	for i := range 6 {
		source = fmt.Sprintf("%s.all(x%d, %s)", ten, i, source)
	}
	f, err := CompileFilter(source)
	if err != nil {
		t.Fatalf("CompileFilter: %v", err)
	}
	if !f.tracked {
		t.Errorf("%s: not tracked", source)
	}
}

// Ordinary filters are priced low by filterCost too: they run untracked.
func TestFilterOrdinaryUntracked(t *testing.T) {
	for _, source := range []string{
		`event == "ASSET_ADDED" && project_id == "P1" && user_id != null`,
		`event in ["ASSET_ADDED", "ASSET_DELETED"]`,
		`data.kind == "video" || data.kind in ["image", "audio"]`,
		`data.size > 5 && data["kind"] != "video"`,
		`has(data.meta) && !data.meta.ok && data.tags == ["a", "b"]`,
		`data.items[0] == 1 && size(data) == 2`,
		`["a", "b"].exists(k, k == data.kind)`,
	} {
		f, err := CompileFilter(source)
		if err != nil {
			t.Errorf("CompileFilter(%q): %v", source, err)
		} else if f.tracked {
			t.Errorf("%s is tracked", source)
		}
	}
}

// A filter may read its event's data a few times over (filterDataReads):
// before, one read of a string over 1 MB passed FilterCostLimit, so that
// size(data.caption) > 100 failed, and its event went to no webhook with
// that filter. Such filters pass over the largest events, untracked.
func TestFilterReadsLargeDataUntracked(t *testing.T) {
	for _, n := range []int{2 << 20, 15 << 20} {
		zeros := strings.Repeat("0", n)
		e := &Event{Event: "ASSET_ADDED", Data: json.RawMessage(`{"kind":"video","caption":"` + zeros + `","count":"` + zeros + `7",` +
			`"when":"2026-01-02T03:04:05.` + zeros + `Z","tags":["` + zeros + `"]}`)}
		in := NewFilterInput(e)
		for _, source := range []string{
			`size(data.caption) > 100`,
			`data.caption != "x" && data.kind == "video"`,
			`data.caption in ["a", "b"] || data.kind in ["video", "image"]`,
			`has(data.caption) && size(data.tags) > 0`,
			`int(data.count) > 5`,
			`timestamp(data.when) > timestamp("2026-01-01T00:00:00Z")`,
			`{data.caption: 1}[data.caption] == 1`,
			`data.caption.startsWith("0") && size(data.caption) == size(data.tags[0])`,
		} {
			f, err := CompileFilter(source)
			if err != nil {
				t.Fatalf("CompileFilter(%q): %v", source, err)
			}
			if f.tracked {
				t.Errorf("%s is tracked", source)
			}
			if ok, err := f.Eval(in); !ok || err != nil {
				t.Errorf("%s over %d bytes = %v, %v; want true", source, n, ok, err)
			}
		}
	}
}

// Building a map hashes its keys: a key taken from data ({data.s: 1}) is
// priced as a read of its string, before and while the filter runs, which
// CEL did not price at all: this filter over a 15 MB event ran untracked
// for 2 s.
func TestFilterMapKeysPriced(t *testing.T) {
	e := &Event{Event: "ASSET_ADDED", Data: json.RawMessage(`{"s":"` + strings.Repeat("1", 15<<20) + `"}`)}
	ten := "[" + strings.TrimSuffix(strings.Repeat("1,", 10), ",") + "]"
	maps := "[" + strings.TrimSuffix(strings.Repeat("{data.s: 1},", 20), ",") + "]"
	for _, source := range []string{
		ten + `.all(x, ` + ten + `.all(y, size(` + maps + `) > 0))`,
		`size(` + maps + `) > 0`,
		`data.s.size() > 0 && ` + ten + `.all(x, {data.s: x}[data.s] == x)`,
	} {
		f, err := CompileFilter(source)
		if err != nil {
			t.Fatalf("CompileFilter: %v", err)
		}
		assertStopped(t, f, e, source)
	}
	// Keys that are not constants mean what they did.
	for _, source := range []string{
		`{data.kind: 1}[data.kind] == 1 && {data.kind: 1} == {"video": 1}`,
		`["video", "image"].exists(k, {k: data.kind}[data.kind] == k)`,
		`{user_id: project_id, data.size > 5: [data.kind].map(k, {k: k})}[true][0].video == "video"`,
	} {
		f, err := CompileFilter(source)
		if err != nil {
			t.Fatalf("CompileFilter(%q): %v", source, err)
		}
		if ok, err := f.Eval(NewFilterInput(filterEvents()[0])); !ok || err != nil {
			t.Errorf("%s = %v, %v; want true", source, ok, err)
		}
	}
}
