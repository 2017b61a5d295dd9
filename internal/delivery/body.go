package delivery

import (
	"strconv"
	"time"

	"github.com/hookd/hookd"
)

// Body returns the JSON body that webhookID's receiver gets for e:
//
//	{"id":…,"event":…,"created_at":…,"project_id":…,"user_id":…,"webhook_id":…,"data":…}
//
// id is the event id, created_at the event's time in hookd.TimeLayout, project_id
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

// appendTime appends t in hookd.TimeLayout, in UTC, digit by digit (AppendFormat
// parses its layout on every call; this runs once a delivery).
func appendTime(dst []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(dst, hookd.TimeLayout)
	}
	hour, minute, sec := t.Clock()
	milli := t.Nanosecond() / 1e6
	dst = append(dst, byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-',
		byte('0'+int(month)/10), byte('0'+int(month)%10), '-', byte('0'+day/10), byte('0'+day%10), 'T',
		byte('0'+hour/10), byte('0'+hour%10), ':', byte('0'+minute/10), byte('0'+minute%10), ':',
		byte('0'+sec/10), byte('0'+sec%10), '.', byte('0'+milli/100), byte('0'+milli/10%10), byte('0'+milli%10), 'Z')
	return dst
}

// appendJSONString appends s as a JSON string (hookd.AppendJSONString).
func appendJSONString(dst []byte, s string) []byte { return hookd.AppendJSONString(dst, s) }
