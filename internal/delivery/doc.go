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
//   - sender.go: one attempt over HTTP, and its classification.
//   - retry.go: the retry schedule, jitter and Retry-After.
//   - dispatcher.go: the claim, send and record loop, and the maintenance loop.
package delivery
