package hookd

import (
	"encoding/json"
	"errors"
	"strings"
	"unicode/utf8"
)

// The rules of what a publisher may send as an event, which the intake
// (internal/http) answers with the API's errors and the Go client and
// client/outbox check before sending or writing. An event's id, when given,
// is ValidText of at most MaxEventIDLength characters and PathSafeEventID;
// its project_id is ValidProjectID; its data passes CheckEventData.

// MaxEventIDLength is the most characters an event's id may have.
const MaxEventIDLength = 255

// ValidText reports whether s is 1 to max characters (runes, not bytes)
// without a control character (IsControl): the rule of an event's id and
// of the names, titles and header values that the admin API takes. It does
// not check that s is valid UTF-8: an invalid byte counts as one character.
func ValidText(s string, max int) bool {
	return s != "" && utf8.RuneCountInString(s) <= max && !strings.ContainsFunc(s, IsControl)
}

// ProjectIDForm is the form ValidProjectID checks, in words.
const ProjectIDForm = "1 to 64 characters from A-Z, a-z, 0-9, _ and -"

// ValidProjectID reports whether s has the form of a project id
// (ProjectIDForm), as MediaPocket gives them.
func ValidProjectID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// The rules of an event's data that CheckEventData finds broken.
var (
	ErrDataNotUTF8   = errors.New("data is not valid UTF-8")
	ErrDataTooDeep   = errors.New("data is nested too deep")
	ErrDataNotJSON   = errors.New("data is not valid JSON")
	ErrDataNotObject = errors.New("data must be a JSON object")
)

// CheckEventData returns the first rule of an event's data that data
// breaks, nil when none: it must be valid UTF-8, nested at most maxDepth
// deep (data itself counting as 1), valid JSON and an object, surrounding
// whitespace aside. Empty data is absent, {}, and passes. A reader that
// has checked the JSON already (the intake, which reads a request's body
// once) calls IsJSONObject only.
func CheckEventData(data []byte, maxDepth int) error {
	switch {
	case len(data) == 0:
		return nil
	case !utf8.Valid(data):
		return ErrDataNotUTF8
	case nestedDeeperThan(data, maxDepth):
		return ErrDataTooDeep
	case !json.Valid(data):
		return ErrDataNotJSON
	case !IsJSONObject(data):
		return ErrDataNotObject
	}
	return nil
}

// IsJSONObject reports whether data, valid JSON, is an object.
func IsJSONObject(data []byte) bool {
	for _, c := range data {
		switch c {
		case ' ', '\t', '\r', '\n':
		default:
			return c == '{'
		}
	}
	return false
}

// MaxDataDepth is how deep arrays and objects may nest in an event's data,
// data itself counting as 1: MaxJSONDepth less the deepest envelope data
// travels in, a batch's request and answer ({"events":[{"data":…}]}).
// Deeper data would be refused by a reader of that envelope (the intake,
// the Go client reading an answer), so the intake and the stores refuse it.
const MaxDataDepth = MaxJSONDepth - 3

// DataTooDeep reports whether data, JSON text, nests deeper than
// MaxDataDepth.
func DataTooDeep(data []byte) bool {
	// Each level takes two bytes at least: most data is far too short to
	// be scanned.
	return len(data) > 2*MaxDataDepth && nestedDeeperThan(data, MaxDataDepth)
}

// nestedDeeperThan reports whether arrays and objects nest more than limit
// deep in data, JSON text that may be invalid. It is checked before
// json.Valid, which refuses data nested past encoding/json's limit as
// invalid, without saying why.
func nestedDeeperThan(data []byte, limit int) bool {
	depth, inString := 0, false
	for i := 0; i < len(data); i++ {
		switch c := data[i]; {
		case inString && c == '\\':
			i++ // the escaped byte, a quote maybe
		case c == '"':
			inString = !inString
		case inString: // any other byte of a string
		case c == '{' || c == '[':
			if depth++; depth > limit {
				return true
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return false
}
