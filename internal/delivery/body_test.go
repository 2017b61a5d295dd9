package delivery

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

func ptr[T any](v T) *T { return &v }

func TestBodyExact(t *testing.T) {
	paris := time.FixedZone("CET", 3600)
	e := &hookd.Event{
		ID:        "evt_1",
		Event:     "ASSET_ADDED",
		ProjectID: ptr("GsrwPNm6nJ7CKRYnQZl6"),
		UserID:    ptr(int64(42)),
		Data:      json.RawMessage(`{"asset_id":7,"name":"a b"}`),
		CreatedAt: time.Date(2023, 11, 27, 10, 42, 39, 937_654_321, paris),
	}
	got := string(Body(e, 5))
	want := `{"id":"evt_1","event":"ASSET_ADDED","created_at":"2023-11-27T09:42:39.937Z",` +
		`"project_id":"GsrwPNm6nJ7CKRYnQZl6","user_id":42,"webhook_id":5,"data":{"asset_id":7,"name":"a b"}}`
	if got != want {
		t.Fatalf("body\n got %s\nwant %s", got, want)
	}
}

func TestBodyNulls(t *testing.T) {
	e := &hookd.Event{ID: "e", Event: "PROJECT_ADDED", CreatedAt: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)}
	got := string(Body(e, 123456789012))
	want := `{"id":"e","event":"PROJECT_ADDED","created_at":"2024-01-02T03:04:05.000Z",` +
		`"project_id":null,"user_id":null,"webhook_id":123456789012,"data":{}}`
	if got != want {
		t.Fatalf("body\n got %s\nwant %s", got, want)
	}
}

func TestBodyEscapesStrings(t *testing.T) {
	tricky := "q\"b\\s/ <>& \n\r\t\b\f \x00\x1f é 日本 \u2028\u2029 \xff end"
	e := &hookd.Event{ID: tricky, Event: "X", ProjectID: ptr(tricky), Data: json.RawMessage(`{}`)}
	b := Body(e, 1)
	var back struct {
		ID        string          `json:"id"`
		ProjectID string          `json:"project_id"`
		WebhookID int64           `json:"webhook_id"`
		Data      json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("invalid JSON %s: %v", b, err)
	}
	// encoding/json reads invalid UTF-8 back as U+FFFD, as we wrote it.
	wantStr := "q\"b\\s/ <>& \n\r\t\b\f \x00\x1f é 日本 \u2028\u2029 \uFFFD end"
	if back.ID != wantStr || back.ProjectID != wantStr {
		t.Fatalf("round trip\n got %q\nwant %q", back.ID, wantStr)
	}
	wantEsc := `"q\"b\\s/ <>& \n\r\t\b\f \u0000\u001f é 日本 \u2028\u2029 \ufffd end"`
	if got := string(appendJSONString(nil, tricky)); got != wantEsc {
		t.Fatalf("escaped\n got %s\nwant %s", got, wantEsc)
	}
}

func BenchmarkBody(b *testing.B) {
	e := &hookd.Event{ID: "evt_0123456789", Event: "ASSET_ADDED", ProjectID: ptr("GsrwPNm6nJ7CKRYnQZl6"),
		UserID: ptr(int64(42)), Data: json.RawMessage(`{"asset_id":7,"name":"a b"}`), CreatedAt: time.Now()}
	b.ReportAllocs()
	for b.Loop() {
		Body(e, 5)
	}
}

func TestAppendTime(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(2023, 11, 27, 9, 42, 39, 937_654_321, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.FixedZone("X", -7*3600)),
		time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Now(),
	} {
		if got, want := string(appendTime(nil, tm)), tm.UTC().Format(hookd.TimeLayout); got != want {
			t.Errorf("appendTime(%v) = %s, want %s", tm, got, want)
		}
	}
}
