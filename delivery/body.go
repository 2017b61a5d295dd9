package delivery

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/hookd/hookd"
)

// TimeLayout is how times appear in bodies and the API: UTC, milliseconds, Z.
const TimeLayout = "2006-01-02T15:04:05.000Z"

// Body returns the JSON body that webhookID's receiver gets for e:
//
//	{"id":…,"event":…,"created_at":…,"project_id":…,"user_id":…,"webhook_id":…,"data":…}
//
// id is the event id, created_at the event's time in TimeLayout, project_id
// a string or null, user_id and webhook_id integers (user_id may be null),
// and data the event's JSON object as stored, byte for byte ({} when empty).
func Body(e *hookd.Event, webhookID int64) []byte {
	return AppendBody(make([]byte, 0, 160+len(e.ID)+len(e.Event)+len(e.Data)), e, webhookID)
}

// AppendBody appends Body(e, webhookID) to dst and returns the result.
func AppendBody(dst []byte, e *hookd.Event, webhookID int64) []byte {
	dst = append(dst, `{"id":`...)
	dst = appendJSONString(dst, e.ID)
	dst = append(dst, `,"event":`...)
	dst = appendJSONString(dst, e.Event)
	dst = append(dst, `,"created_at":"`...)
	dst = appendTime(dst, e.CreatedAt)
	dst = append(dst, `","project_id":`...)
	if e.ProjectID != nil {
		dst = appendJSONString(dst, *e.ProjectID)
	} else {
		dst = append(dst, "null"...)
	}
	dst = append(dst, `,"user_id":`...)
	if e.UserID != nil {
		dst = strconv.AppendInt(dst, *e.UserID, 10)
	} else {
		dst = append(dst, "null"...)
	}
	dst = append(dst, `,"webhook_id":`...)
	dst = strconv.AppendInt(dst, webhookID, 10)
	dst = append(dst, `,"data":`...)
	if len(e.Data) == 0 {
		dst = append(dst, "{}"...)
	} else {
		dst = append(dst, e.Data...)
	}
	return append(dst, '}')
}

// appendTime appends t in TimeLayout, in UTC.
func appendTime(dst []byte, t time.Time) []byte {
	return t.UTC().AppendFormat(dst, TimeLayout)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string. It escapes what JSON requires
// (quote, backslash, control characters), U+2028 and U+2029 (for JavaScript
// receivers), and replaces invalid UTF-8 with U+FFFD, as encoding/json does;
// it does not escape <, > and &.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
