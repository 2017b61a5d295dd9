package http

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// TestRubyInspect checks values as Ruby's inspect prints them, which is how
// Apipie's messages show a rejected value.
func TestRubyInspect(t *testing.T) {
	cases := []struct{ json, want string }{
		{`null`, `nil`},
		{`true`, `true`},
		{`12`, `12`},
		{`4.5`, `4.5`},
		{`2.0`, `2.0`},
		{`1e20`, `1.0e+20`},
		{`99999999999999999999`, `99999999999999999999`}, // a bignum in Ruby
		{`-12345678901234567890`, `-12345678901234567890`},
		{`-0`, `0`},
		{`"abc"`, `"abc"`},
		{`"say \"hi\"\\"`, `"say \"hi\"\\"`},
		{`"\n\t\r\u0007\b\u000b\f\u001b"`, `"\n\t\r\a\b\v\f\e"`},
		{`"\u0001\u007f"`, `"\u0001\u007F"`},
		{`"#{x} #$y #@z # ok"`, `"\#{x} \#$y \#@z # ok"`},
		{`"é ✓"`, `"é ✓"`},
		{`["A", 1, null]`, `["A", 1, nil]`},
		{`{"b": 1, "a": [true]}`, `{"a"=>[true], "b"=>1}`},
	}
	for _, c := range cases {
		dec := json.NewDecoder(strings.NewReader(c.json))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		if got := rubyInspect(v); got != c.want {
			t.Errorf("rubyInspect(%s) = %s, want %s", c.json, got, c.want)
		}
	}
}

// decodeValue's shortcuts give what a decoder with UseNumber gives.
func TestDecodeValueAsADecoder(t *testing.T) {
	for _, raw := range []string{`null`, `true`, `false`, `0`, `-1.5e3`, `12345678901234567890`, `""`, `"plain"`,
		`"é and \u00e9"`, `"tab\there"`, `"quote \" and \\ slash \/"`, "\"bad \xff byte\"", `[1,"a",{"b":null}]`,
		`{"z":1,"a":[true]}`} {
		dec := json.NewDecoder(strings.NewReader(raw))
		dec.UseNumber()
		var want any
		if err := dec.Decode(&want); err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		if got := decodeValue(rawValue(raw)); !reflect.DeepEqual(got, want) {
			t.Errorf("decodeValue(%s) = %#v, want %#v", raw, got, want)
		}
	}
}
