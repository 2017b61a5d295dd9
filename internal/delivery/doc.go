// Package delivery sends what the store queues: it builds the body of a
// delivery, signs it the Standard Webhooks way, sends it over an HTTP client
// whose dialer refuses private and internal addresses, classifies the
// outcome, schedules retries, and runs the worker loop that claims due
// deliveries and records their attempts.
//
// The pieces, one file each:
//
//   - body.go: the JSON body a receiver gets.
//   - sign.go: webhook-signature and the is_hmac header values.
//   - dialer.go: the connect-time address check (SSRF protection).
//   - sender.go: one attempt over HTTP, and what happened (the Outcome).
//   - retry.go: the Policy: what follows an attempt (a retry, the end of
//     the delivery, disabling the webhook): the schedule, jitter and
//     Retry-After.
//   - claim.go: claiming due deliveries for idle workers, and their targets.
//   - handoff.go: idle workers offered to this process's publishes, which
//     lease deliveries at once (hookd.Handoff), and their attempts started.
//   - targets.go: the webhooks' targets kept in memory while their version
//     stays put.
//   - attempt.go: one worker's attempt: send, let the policy decide, tell.
//   - complete.go: recording results in batches, retried while the store
//     fails.
//   - maintain.go: retention and auto-disable, under the maintenance lead.
//   - dispatcher.go: the Config, Run, which wires the parts together, and
//     the workers, whose slots a claim or a handoff reserves.
package delivery
