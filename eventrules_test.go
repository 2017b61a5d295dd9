package hookd

import (
	"strings"
	"testing"
)

func TestValidTextOfAnEventID(t *testing.T) {
	cases := []struct {
		id    string
		valid bool
	}{
		{"evt_1", true},
		{strings.Repeat("a", MaxEventIDLength), true},
		{strings.Repeat("a", MaxEventIDLength+1), false},
		// Characters, not bytes: 255 of two bytes and of four pass.
		{strings.Repeat("é", MaxEventIDLength), true},
		{strings.Repeat("🎉", MaxEventIDLength), true},
		{strings.Repeat("é", MaxEventIDLength+1), false},
		{"", false},
		{"evt\t1", true}, // a tab is no control character (IsControl)
		{"evt\n1", false},
		{"evt\x00", false},
		{"evt\x1f", false},
		{"evt\x7f", false},
		{"\u0085evt", true}, // C1 controls pass, as IsControl lets them
	}
	for _, c := range cases {
		if got := ValidText(c.id, MaxEventIDLength); got != c.valid {
			t.Errorf("ValidText(%.20q… of %d bytes, %d) = %v, want %v", c.id, len(c.id), MaxEventIDLength, got, c.valid)
		}
	}
}

func TestValidProjectID(t *testing.T) {
	cases := []struct {
		id    string
		valid bool
	}{
		{"GsrwPNm6nJ7CKRYnQZl6", true},
		{"a_B-9", true},
		{strings.Repeat("p", 64), true},
		{strings.Repeat("p", 65), false},
		{"", false},
		{"P 1", false},
		{"P.1", false},
		{"P/1", false},
		{"é", false},
		{"P\x00", false},
		{"P\xff", false},
	}
	for _, c := range cases {
		if got := ValidProjectID(c.id); got != c.valid {
			t.Errorf("ValidProjectID(%q) = %v, want %v", c.id, got, c.valid)
		}
	}
}

func TestCheckEventData(t *testing.T) {
	cases := []struct {
		data  string
		depth int
		want  error
	}{
		{``, 1, nil},
		{`{}`, 1, nil},
		{" \t\r\n{\"a\": [1, {\"b\": \"\\\"[{\"}]} \n", 3, nil},
		{`{"a": [1, {"b": 2}]}`, 2, ErrDataTooDeep},
		{`{"s": "[[[[{{{{"}`, 1, nil}, // brackets in a string are no nesting
		{"{\"a\": \"\xff\"}", 1, ErrDataNotUTF8},
		{`{"a":`, 1, ErrDataNotJSON},
		{`{"a": 1} {}`, 1, ErrDataNotJSON},
		{`[1, 2]`, 1, ErrDataNotObject},
		{`null`, 1, ErrDataNotObject},
		{` "{"`, 1, ErrDataNotObject},
		// The first rule broken is the one returned.
		{"[\xff", 1, ErrDataNotUTF8},
		{`[[`, 1, ErrDataTooDeep},
	}
	for _, c := range cases {
		if got := CheckEventData([]byte(c.data), c.depth); got != c.want {
			t.Errorf("CheckEventData(%q, %d) = %v, want %v", c.data, c.depth, got, c.want)
		}
	}
}

func TestIsJSONObject(t *testing.T) {
	for data, want := range map[string]bool{`{}`: true, " \n\t\r{}": true, `[]`: false, `"{"`: false, ``: false, ` `: false} {
		if got := IsJSONObject([]byte(data)); got != want {
			t.Errorf("IsJSONObject(%q) = %v, want %v", data, got, want)
		}
	}
}
