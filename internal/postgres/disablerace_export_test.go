package postgres

// QueueDisabledChange exposes the statement by which disabling a webhook
// parks its deliveries, for a test that holds a disabling open.
var QueueDisabledChange = queueDisabledChange
