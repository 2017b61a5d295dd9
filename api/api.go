// Package api holds the JSON bodies of hookd's HTTP API: the server encodes
// its answers with these types and the Go client (package client) decodes
// them, so the two cannot drift apart. Field names, their order and which
// may be null follow MediaPocket V2's documentation; the server's tests
// check every type here against /openapi.json.
//
// Each answer is an object with one key (MediaPocket's envelopes): a
// webhook comes as WebhookResponse, {"webhook": {...}}. Lists are [] when
// empty, never null. Errors are Error, {"error": "..."}.
package api

import (
	"time"

	"github.com/hookd/hookd"
)

// Time is a time as the API shows it: UTC, milliseconds, "Z"
// (2023-11-27T09:42:39.937Z). It decodes any RFC 3339 time.
type Time struct{ time.Time }

// MarshalJSON writes t in hookd.TimeLayout.
func (t Time) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, len(hookd.TimeLayout)+2)
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, hookd.TimeLayout)
	return append(b, '"'), nil
}

// TimeOf returns t as the API shows it, or nil for nil.
func TimeOf(t *time.Time) *Time {
	if t == nil {
		return nil
	}
	return &Time{*t}
}

// Error is the answer to a request that failed: the status code says what
// kind of failure, Error says it in MediaPocket's words.
type Error struct {
	Error string `json:"error"`
}

// OK is the answer to a deletion.
type OK struct {
	OK string `json:"ok"` // "ok"
}

// Status is the answer of the health checks: "ok" (/healthz) or "ready"
// (/readyz).
type Status struct {
	Status string `json:"status"`
}
