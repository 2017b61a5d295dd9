package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"slices"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/hookd/hookd/api"
)

// maxBodyBytes bounds a request body; a batch of 1,000 events gets more
// room (hookd.MaxBatchBytes).
const maxBodyBytes = 1 << 20

// apiError is an answer in MediaPocket's error shape, {"error": "..."}.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func errorf(status int, format string, args ...any) error {
	return &apiError{status, fmt.Sprintf(format, args...)}
}

var errUnauthorized = &apiError{http.StatusUnauthorized, "Unauthorized"}

// readObject decodes a request body that must be a JSON object. An empty
// body counts as {} so that actions without parameters need no body; a
// body of null does not (json.Unmarshal would take it for one).
func readObject(w http.ResponseWriter, r *http.Request, limit int64) (map[string]any, error) {
	body, err := readBody(w, r, limit)
	if err != nil {
		return nil, err
	}
	fields := map[string]rawValue{}
	if len(body) > 0 {
		if err := unmarshalBody(body, &fields); err != nil {
			return nil, err
		}
		if bytes.TrimLeft(body, " \t\r\n")[0] == 'n' {
			return nil, errNotAnObject // null, which decodes into a map as {}
		}
	}
	obj := make(map[string]any, len(fields))
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		if !exactText(fields[k]) {
			return nil, errNotUTF8(k)
		}
		obj[k] = decodeValue(fields[k])
	}
	return obj, nil
}

// readFields reads a request body that must be a JSON object, and returns
// the values of those of its keys that are among keys, as they stand in
// the body, to be decoded as each is read (the last of a repeated key
// counts). The others are checked and skipped, never built: a body of
// many keys costs no more than its bytes. An empty body counts as {}.
func readFields(w http.ResponseWriter, r *http.Request, limit int64, keys ...string) (map[string]rawValue, error) {
	body, err := readBody(w, r, limit)
	if err != nil {
		return nil, err
	}
	if len(body) == 0 {
		return map[string]rawValue{}, nil
	}
	if !json.Valid(body) {
		return nil, unmarshalBody(body, new(skipValue)) // its error names the fault
	}
	if body = bytes.TrimLeft(body, " \t\r\n"); body[0] != '{' {
		return nil, errNotAnObject
	}
	return objectFields(body, keys), nil
}

// objectFields returns the values of obj's keys that are among keys, as
// they stand in obj, which must be a valid JSON object; the last of a
// repeated key counts. Nothing is built for the other keys.
func objectFields(obj []byte, keys []string) map[string]rawValue {
	fields := make(map[string]rawValue, len(keys))
	i := skipSpace(obj, 1)
	for obj[i] != '}' {
		keyEnd := stringEnd(obj, i)
		key := obj[i:keyEnd]
		start := skipSpace(obj, skipSpace(obj, keyEnd)+1) // past the colon
		end := valueEnd(obj, start)
		if k, ok := matchKey(key, keys); ok {
			fields[k] = obj[start:end]
		}
		i = nextElement(obj, end)
	}
	return fields
}

// nextElement returns the index, in a valid JSON object or array, of the
// element after the one that ends at end, or of the closing bracket.
func nextElement(b []byte, end int) int {
	i := skipSpace(b, end)
	if b[i] == ',' {
		i = skipSpace(b, i+1)
	}
	return i
}

// matchKey returns the key of keys that the JSON string key reads as.
func matchKey(key []byte, keys []string) (string, bool) {
	inner := key[1 : len(key)-1]
	if bytes.IndexByte(inner, '\\') >= 0 {
		var s string
		json.Unmarshal(key, &s) // key is a valid JSON string
		inner = []byte(s)
	}
	for _, k := range keys {
		if string(inner) == k {
			return k, true
		}
	}
	return "", false
}

// skipSpace returns the index of the first byte of b from i on that is
// not JSON white space.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// stringEnd returns the index just past the JSON string that starts at
// b[i], which must be valid.
func stringEnd(b []byte, i int) int {
	for i++; b[i] != '"'; i++ {
		if b[i] == '\\' {
			i++
		}
	}
	return i + 1
}

// valueEnd returns the index just past the JSON value that starts at b[i],
// which must be valid.
func valueEnd(b []byte, i int) int {
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for ; ; i++ {
			switch b[i] {
			case '"':
				i = stringEnd(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
	}
	for ; i < len(b); i++ { // a number, true, false or null
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\r', '\n':
			return i
		}
	}
	return i
}

// readBody reads a request body of up to limit bytes: nil when it is
// empty (or white space), else JSON, as its Content-Type must say.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	body, err := readAll(http.MaxBytesReader(w, r.Body, limit), r.ContentLength, limit)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, errorf(http.StatusRequestEntityTooLarge, "Request body too large: the limit is %d bytes", limit)
		}
		return nil, errorf(http.StatusBadRequest, "Could not read the request body")
	}
	if len(bytes.Trim(body, jsonSpace)) == 0 {
		return nil, nil
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return nil, errorf(http.StatusUnsupportedMediaType, "Content-Type must be application/json")
	}
	return body, nil
}

// jsonSpace is the white space JSON allows around a value.
const jsonSpace = " \t\r\n"

// readAll reads rd whole. Its buffer grows fourfold from a small one up to
// the announced length, when there is one (net/http reads no further than
// it): it follows the bytes that came (a client that announces 16 MB and
// sends 4 bytes costs 64 KB), ends at the body's size, and leaves at most
// a third of it behind as garbage (io.ReadAll's smaller steps, up to
// twice).
func readAll(rd io.Reader, length, limit int64) ([]byte, error) {
	if length <= 0 || length > limit {
		return io.ReadAll(rd)
	}
	buf := make([]byte, 0, min(length, firstReadBuffer))
	for int64(len(buf)) < length {
		if len(buf) == cap(buf) {
			buf = append(make([]byte, 0, min(4*int64(cap(buf)), length)), buf...)
		}
		n, err := rd.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF && int64(len(buf)) < length {
			return nil, io.ErrUnexpectedEOF
		}
		if err != nil && err != io.EOF {
			return nil, err
		}
	}
	return buf, nil
}

// firstReadBuffer is the buffer a body is first read into (readAll).
const firstReadBuffer = 64 << 10

// unmarshalBody decodes body, which must be one JSON object, into v, a map
// of rawValue (or a skipValue, for its error alone): it checks the whole
// body and builds nothing but the map.
// errNotUTF8 answers a body whose value of key holds text that decoding
// would change (exactText): a name or a header value would be stored other
// than sent.
func errNotUTF8(key string) error {
	return errorf(http.StatusBadRequest, "Malformed JSON: the value of '%s' is not valid UTF-8", key)
}

// errNotAnObject answers a body that is JSON but not an object (null
// included: an empty body is the one that counts as {}).
var errNotAnObject = errorf(http.StatusBadRequest, "The request body must be a JSON object")

func unmarshalBody(body []byte, v any) error {
	err := json.Unmarshal(body, v)
	var (
		syntax   *json.SyntaxError
		mismatch *json.UnmarshalTypeError
	)
	switch {
	case err == nil:
		return nil
	case errors.As(err, &syntax) && strings.Contains(syntax.Error(), "after top-level value"):
		return errorf(http.StatusBadRequest, "Malformed JSON: unexpected data after the top-level value")
	case errors.As(err, &mismatch):
		return errNotAnObject
	default:
		return errorf(http.StatusBadRequest, "Malformed JSON: %s", jsonErrorText(err))
	}
}

// skipValue decodes any JSON value into nothing.
type skipValue struct{}

func (skipValue) UnmarshalJSON([]byte) error { return nil }

// rawValue is a JSON value as it stands in the body it was decoded from
// (json.Unmarshal hands it over without a copy; the body is not changed
// after).
type rawValue []byte

func (v *rawValue) UnmarshalJSON(b []byte) error {
	*v = b
	return nil
}

// maxInspect bounds the rejected value that an error shows.
const maxInspect = 1024

// cutEcho is the start of a rejected value's text s, cut after at most
// maxInspect bytes on a character boundary: an error shows enough of the
// value to find it, never all of a huge one, and stays text that a UTF-8
// column (outbox_rejected.reason) takes.
func cutEcho[T ~string | ~[]byte](s T) T {
	if len(s) <= maxInspect {
		return s
	}
	cut := maxInspect
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// decodeValue decodes a value that a rule checks, as a decoder with
// UseNumber would. An array or object larger than any body but a batch's
// (in an event of a batch) is not built in memory (decodeUpTo).
func decodeValue(raw rawValue) any { return decodeUpTo(raw, maxBodyBytes) }

// decodeUpTo decodes raw as decodeValue does, but an array or object of
// more than limit bytes becomes an elided value, which no rule accepts and
// which shows as its first bytes.
func decodeUpTo(raw rawValue, limit int) any {
	switch c := raw[0]; {
	case c == 'n':
		return nil
	case c == 't':
		return true
	case c == 'f':
		return false
	case c == '-' || c >= '0' && c <= '9':
		return json.Number(raw)
	case c == '"' && plainString(raw):
		return string(raw[1 : len(raw)-1])
	case c == '"':
		// Unmarshal builds the text alone; a Decoder would first copy raw
		// into buffers of its own, growing by steps.
		var text string
		json.Unmarshal(raw, &text) // raw is a valid JSON string
		return text
	case len(raw) > limit && (c == '[' || c == '{'):
		return elided(cutEcho(raw))
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	dec.Decode(&v) // raw is one valid JSON value: unmarshalBody checked its body
	return v
}

// exactText reports whether the strings of JSON value raw (a string, or
// those in an array or object) decode without replacement: raw is valid
// UTF-8 and escapes no lone UTF-16 surrogate (both would decode as
// U+FFFD, so that two different texts would be taken for one).
func exactText(raw rawValue) bool {
	if !utf8.Valid(raw) {
		return false
	}
	for i := 0; i < len(raw)-1; i++ { // a \ escape is within a string, never last
		if raw[i] != '\\' {
			continue
		}
		if i++; raw[i] != 'u' {
			continue
		}
		r := hex4(raw[i+1:])
		i += 4
		switch {
		case !utf16.IsSurrogate(r):
		case r < 0xdc00 && i+6 < len(raw) && raw[i+1] == '\\' && raw[i+2] == 'u' &&
			utf16.DecodeRune(r, hex4(raw[i+3:])) != utf8.RuneError:
			i += 6 // a high surrogate and its low one
		default:
			return false
		}
	}
	return true
}

// hex4 reads the four hex digits of a \u escape.
func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		default:
			c -= 'A' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

// plainString reports whether a JSON string reads as its bytes: no escape,
// and valid UTF-8 (which decoding would replace).
func plainString(raw rawValue) bool {
	inner := raw[1 : len(raw)-1]
	return bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner)
}

func jsonErrorText(err error) string {
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) && syntax.Error() != "unexpected end of JSON input" {
		return fmt.Sprintf("%s (at byte %d)", syntax.Error(), syntax.Offset)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &syntax) && syntax.Error() == "unexpected end of JSON input" {
		return "unexpected end of input"
	}
	return err.Error()
}

// writeJSON answers v as JSON. It does not escape <, > and & (json.Marshal
// would, within an event's data too): the answer shows data as it was
// published.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		body.Reset()
		body.WriteString(`{"error":"Internal Server Error"}` + "\n")
	}
	writeJSONBody(w, status, body.Bytes())
}

// writeJSONBody answers status with body, a JSON document.
func writeJSONBody(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(body)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, api.Error{Error: msg})
}

// okAnswer is the answer to a deletion.
var okAnswer = api.OK{OK: "ok"}
