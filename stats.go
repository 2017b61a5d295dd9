package hookd

import "time"

// QueueStats are the delivery queue's figures over the whole database, read
// in one query (Store.QueueStats) for the metrics.
type QueueStats struct {
	// Queued counts deliveries waiting for their first attempt or in
	// flight: the sum of every webhook's QueueLength. In flight is leased
	// with a lease that has not ended (ClaimCandidate.InFlight); a
	// delivery whose lease ended without a result (its worker died, or
	// its webhook was disabled before the attempt) waits again, for its
	// first attempt or for a retry as its attempts say.
	Queued int
	// Retrying counts deliveries waiting for a retry: the sum of every
	// webhook's RetryQueueLength.
	Retrying int
	// EnabledWebhooks and DisabledWebhooks count the webhooks by state.
	// These and the other webhook counts are of the customers' webhooks:
	// not the notification subscriptions' (Notification), whose
	// deliveries the queue counts all the same.
	EnabledWebhooks  int
	DisabledWebhooks int
	// OpenCircuits counts the webhooks whose circuit is not closed (open
	// or half open).
	OpenCircuits int
	// FailingWebhooks counts the enabled webhooks whose latest attempt
	// failed (a failing streak, Health).
	FailingWebhooks int
	// ThrottledWebhooks counts the enabled webhooks whose throttle holds
	// back a delivery that is due now.
	ThrottledWebhooks int
}

// QueryObserver is told of each statement a store ran on its database, by
// the database driver: the statement's SQL text, how long it took (for a
// query, until its rows were closed) and, when the database failed, its
// error. A statement refused by a constraint (a taken key, a missing row it
// refers to) is reported without its error: the store answers it as
// ErrConflict or ErrNotFound. It is called concurrently and must be quick.
type QueryObserver func(query string, elapsed time.Duration, err error)
