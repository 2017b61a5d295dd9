package api

// Erased counts what an erasure changed (POST .../erase): the events whose
// data went, their queued deliveries cancelled, and the attempt log entries
// whose response bodies went. Metadata (ids, names, times, statuses) stays.
type Erased struct {
	Events              int `json:"events"`
	CancelledDeliveries int `json:"cancelled_deliveries"`
	ClearedAttempts     int `json:"cleared_attempts"`
}

// ErasedResponse is the answer of the erasure endpoints.
type ErasedResponse struct {
	Erased Erased `json:"erased"`
}
