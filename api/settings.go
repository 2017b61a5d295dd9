package api

// Settings are hookd's own settings of a webhook, kept in the webhook's
// settings sub-resource (/api/v2/admin/webhooks/:id/settings) so that
// MediaPocket's webhook object stays as documented. Null is the default.
type Settings struct {
	// MaxInFlight caps the webhook's attempts at once, across every process
	// on the database; null: a quarter of --concurrency, at least 1.
	MaxInFlight *int `json:"max_in_flight"`
	// MaxPerSecond caps the webhook's attempts per second, across every
	// process; null: no cap.
	MaxPerSecond *float64 `json:"max_per_second"`
	// Filter is a CEL expression over event, project_id, user_id and data
	// that an event must make true to be delivered; null: no filter.
	Filter *string `json:"filter"`
	// Ordering delivers the webhook's events one at a time, in the order
	// they were accepted, in one lane ("webhook") or in one lane per value
	// of the event's "project_id", "user_id", "event" or a field of its
	// data ("data.<field>", "data.<field>.<field>"); null: no order.
	Ordering *string `json:"ordering"`
}

// SettingsResponse is the answer of GET and POST .../settings. The POST's
// body has the same shape, with only the keys to change: an absent key
// keeps its value, null resets it to the default.
type SettingsResponse struct {
	Settings Settings `json:"settings"`
}
