package hookd

import (
	"fmt"
	"strconv"
	"strings"
)

// WebhookSortKey names what a webhook listing is ordered by.
type WebhookSortKey string

// The orders of a webhook listing. Ties go by id, in the same direction;
// SortByName ignores the case of ASCII letters (and only theirs, on both
// stores); webhooks that never ran come last under SortByLastRun, in
// either direction.
const (
	SortByID      WebhookSortKey = "id"
	SortByName    WebhookSortKey = "name"
	SortByCreated WebhookSortKey = "created_at"
	SortByLastRun WebhookSortKey = "last_run_at"
)

// WebhookSortKeys are the keys ParseWebhookSort accepts, in the order the
// API documents them.
var WebhookSortKeys = []WebhookSortKey{SortByID, SortByName, SortByCreated, SortByLastRun}

// WebhookSort is the order of a webhook listing.
type WebhookSort struct {
	Key  WebhookSortKey // "" is SortByID
	Desc bool
}

// ParseWebhookSort reads an order as the API writes it: a key, descending
// when it starts with "-" ("-last_run_at").
func ParseWebhookSort(s string) (WebhookSort, error) {
	key, desc := strings.CutPrefix(s, "-")
	for _, k := range WebhookSortKeys {
		if key == string(k) {
			return WebhookSort{Key: k, Desc: desc}, nil
		}
	}
	return WebhookSort{}, fmt.Errorf("unknown sort %q", s)
}

// WebhookHealth is a trouble a webhook can be in, as the stats count them
// (QueueStats).
type WebhookHealth string

// The healths a webhook listing can keep.
const (
	// HealthFailing: enabled, and its latest attempt failed
	// (QueueStats.FailingWebhooks).
	HealthFailing WebhookHealth = "failing"
	// HealthCircuitOpen: its circuit is open or half open
	// (QueueStats.OpenCircuits).
	HealthCircuitOpen WebhookHealth = "circuit_open"
)

// WebhookHealths are the healths the API accepts.
var WebhookHealths = []WebhookHealth{HealthFailing, HealthCircuitOpen}

// SearchPattern is a LIKE pattern (with \ as its escape character) that
// matches the texts containing search.
func SearchPattern(search string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(search) + "%"
}

// SearchID is the webhook id that a search names, 0 when it names none.
func SearchID(search string) int64 {
	id, err := strconv.ParseInt(strings.TrimSpace(search), 10, 64)
	if err != nil || id <= 0 {
		return 0
	}
	return id
}
