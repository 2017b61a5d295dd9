package hookd

import (
	"math"
	"slices"
)

// FanOutChunk bounds the deliveries that one transaction creates. An event
// that matches thousands of webhooks would otherwise hold the database's
// writer (all of SQLite, and a publish's locks on PostgreSQL) for as long
// as its deliveries take to insert: a batch of 1,000 events to 5,000
// webhooks is 5 million rows, minutes in one transaction, while every other
// publish waits and its client times out. At this bound a transaction
// inserts for at most a few tens of milliseconds.
const FanOutChunk = 5000

// PublishToPast is where a fan-out that PublishTo queues for its one
// webhook starts (the after_webhook_id of its fan_outs row): past every
// webhook id. Its webhook is named apart (fan_outs.webhook_id, migration
// 0024), which a process of an earlier version, during a rolling upgrade,
// does not read: starting past every webhook, such a process sends the
// event nowhere, rather than to every webhook that matches it. (Not
// MaxInt64: AfterWebhook looks for the id after it.)
const PublishToPast = math.MaxInt64 - 1

// PlanFanOut is the rule of what a publish creates itself. matched[i] is
// how many webhooks the publish's i-th event matches, backlog whether
// events accepted earlier still wait for their fan-out, and chunk the
// store's bound (FanOutChunk unless tests set another). It returns how
// many of the events, from the first, get their deliveries in the
// publishing transaction: as many as fit in chunk together. The
// others are accepted (stored, and answered) with their deliveries left to
// Store.FanOut, which creates them in chunks right after. While a backlog
// waits, every new event joins it behind the earlier ones, so each
// webhook's deliveries are created in the order the events were accepted.
// So does a PublishTo's delivery to an ordered webhook that a waiting
// fan-out may still reach (one not past it in webhook id, or a PublishTo's
// own to it): created at once, it would go ahead of those events in the
// webhook's lane. FanOut creates it in its turn, to that webhook alone. To
// an unordered webhook, or with no fan-out waiting, it is created at once.
func PlanFanOut(matched []int, backlog bool, chunk int) int {
	if backlog {
		return 0
	}
	total := 0
	for i, n := range matched {
		total += n
		if total > chunk {
			return i
		}
	}
	return len(matched)
}

// AfterWebhook returns the webhook ids of matched (ascending, as
// Subscriptions.Match returns them) above after: those a fan-out that has
// reached webhook after has still to create deliveries for.
func AfterWebhook(matched []int64, after int64) []int64 {
	i, _ := slices.BinarySearch(matched, after+1)
	return matched[i:]
}
