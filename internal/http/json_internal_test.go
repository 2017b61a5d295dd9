package http

import (
	"encoding/json"
	"maps"
	"strings"
	"testing"
)

// objectCases are JSON objects that a scanner could misread: escaped
// keys, repeated keys, strings that hold brackets, quotes and backslashes,
// white space everywhere, deep nesting.
var objectCases = []string{
	`{}`,
	` { } `,
	`{"id":"a"}`,
	`{"id" : "a\"}{][" , "event":"E"}`,
	`{"\u0069d":"escaped key","event":"\u0045"}`,
	`{"id":1,"id":2,"id":3}`,
	`{"x":{"id":"inner"},"id":"outer"}`,
	`{"x":[{"]":"}"},"[\\"],"data":{"a":[1,{"b":"}"}],"c":"\\\""}}`,
	`{"user_id":-12.5e+3,"id":true,"event":false,"data":null}`,
	"{\n\t\"data\"\r\n:\n[ 1 , 2 ]\t,\"user_id\":0}",
	`{"é":"accent","\u00e9":"escaped accent"}`,
	`{"ID":"other case","Event":"other case","idx":"longer","i":"shorter"}`,
	`{"data":"\ud83d\ude00","id":""}`,
	`{"a":` + strings.Repeat(`[`, 100) + strings.Repeat(`]`, 100) + `,"id":"after deep"}`,
}

// fieldKeys are the keys objectFields is asked for in these tests.
var fieldKeys = []string{"id", "event", "data", "user_id", "é"}

// objectFields reads the keys asked for as encoding/json reads them into
// a map of raw values, and skips the others.
func TestObjectFieldsReadsAsEncodingJSON(t *testing.T) {
	for _, obj := range objectCases {
		if got, want := objectFieldsAndJSON(t, obj); !maps.Equal(got, want) {
			t.Errorf("%s:\n got %q\nwant %q", obj, got, want)
		}
	}
}

// FuzzObjectFields checks the same for any valid JSON object.
func FuzzObjectFields(f *testing.F) {
	for _, obj := range objectCases {
		f.Add(obj)
	}
	f.Fuzz(func(t *testing.T, obj string) {
		if trimmed := strings.TrimLeft(obj, " \t\r\n"); !json.Valid([]byte(obj)) || trimmed[0] != '{' {
			return
		}
		if got, want := objectFieldsAndJSON(t, obj); !maps.Equal(got, want) {
			t.Errorf("%q:\n got %q\nwant %q", obj, got, want)
		}
	})
}

// objectFieldsAndJSON returns what objectFields and encoding/json read of
// the fieldKeys of obj, a valid JSON object.
func objectFieldsAndJSON(t *testing.T, obj string) (got, want map[string]string) {
	var all map[string]json.RawMessage
	if err := json.Unmarshal([]byte(obj), &all); err != nil {
		t.Fatalf("%s: %v", obj, err)
	}
	want = map[string]string{}
	for _, k := range fieldKeys {
		if v, ok := all[k]; ok {
			want[k] = string(v)
		}
	}
	got = map[string]string{}
	for k, v := range objectFields([]byte(strings.TrimLeft(obj, " \t\r\n")), fieldKeys) {
		got[k] = string(v)
	}
	return got, want
}

// exactText tells the JSON values whose strings decode as written from
// those that decoding changes (an invalid byte, a lone surrogate: U+FFFD).
func TestExactText(t *testing.T) {
	for raw, exact := range map[string]bool{
		`"plain"`:                   true,
		`""`:                        true,
		`"a\"b\\c\/d\n"`:            true,
		`"\\ud800"`:                 true, // an escaped backslash, then text
		`"\u00e9\u4e2d"`:            true,
		`"\ud83d\ude00"`:            true, // a pair
		`"\uD83D\uDE00"`:            true,
		`"\ufffd"`:                  true, // U+FFFD itself, as sent
		"\"\xef\xbf\xbd\"":          true,
		`"k-\ud800"`:                false,
		`"k-\udc00"`:                false,
		`"\ud800\ud800"`:            false, // two high ones
		`"\ud83d x\ude00"`:          false,
		`"\ud83d\u0041"`:            false, // a high one, then no low one
		`"\ud83d"`:                  false,
		"\"k-\xff\"":                false,
		"\"\xed\xa0\x80\"":          false, // a surrogate in UTF-8 bytes
		`"\\\ud800"`:                false,
		`["a", {"b": "\u00e9"}, 1]`: true,
		`["a", {"b": "\ud800"}, 1]`: false,
		"{\"k\": \"\xff\"}":         false,
		`{"\ud800": 1}`:             false, // in a key
		`12`:                        true,
	} {
		if !json.Valid([]byte(raw)) {
			t.Fatalf("%s is not valid JSON", raw)
		}
		if got := exactText(rawValue(raw)); got != exact {
			t.Errorf("exactText(%s) = %v, want %v", raw, got, exact)
		}
	}
}
