package hookd

// MaxJSONDepth is how deep arrays and objects may nest in a JSON document
// that hookd reads, the outermost one counting as 1: encoding/json's limit,
// which the intake applies to a request's whole body (and the relay to an
// outbox row's data) and the Go client to an answer. TestMaxJSONDepth keeps
// it equal to encoding/json's, which has no exported name.
const MaxJSONDepth = 10_000
