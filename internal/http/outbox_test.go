package http_test

import (
	"strings"
	"testing"

	"github.com/hookd/hookd"
	hookdhttp "github.com/hookd/hookd/internal/http"
)

// TestOutboxEventCutValues: a text column that the relay cut at
// hookd.OutboxTextChars characters is refused as too long, whichever the
// column, so that a cut never makes a value valid; the longest valid
// values are within the cut.
func TestOutboxEventCutValues(t *testing.T) {
	cut := strings.Repeat("A", hookd.OutboxTextChars)
	longestID, longestProject := strings.Repeat("€", 255), strings.Repeat("p", 64)
	for _, c := range []struct {
		name string
		row  hookd.OutboxRow
	}{
		{"event", hookd.OutboxRow{Event: cut}},
		{"id", hookd.OutboxRow{Event: "ASSET_ADDED", ID: &cut}},
		{"project_id", hookd.OutboxRow{Event: "ASSET_ADDED", ProjectID: &cut}},
	} {
		if _, err := hookdhttp.OutboxEvent(c.row); err == nil || !strings.HasPrefix(err.Error(), "Invalid parameter '"+c.name+"' value") {
			t.Errorf("%s of %d characters: %v, want it refused", c.name, hookd.OutboxTextChars, err)
		}
	}
	if _, err := hookdhttp.OutboxEvent(hookd.OutboxRow{Event: "ASSET_ADDED", ID: &longestID, ProjectID: &longestProject}); err != nil {
		t.Errorf("the longest valid id and project id: %v", err)
	}
}

// TestOutboxEventDataDepth: data is checked whole, as a request's body is:
// nesting deeper than the intake reads is refused.
func TestOutboxEventDataDepth(t *testing.T) {
	deep := `{"a":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`
	_, err := hookdhttp.OutboxEvent(hookd.OutboxRow{Event: "ASSET_ADDED", Data: []byte(deep), DataBytes: len(deep)})
	if err == nil || !strings.Contains(err.Error(), "exceeded max depth") {
		t.Fatalf("data nested 10,001 levels: %v, want it refused", err)
	}
}
