package postgres

// WrapErr exposes wrapErr to the external tests.
var WrapErr = wrapErr

// RelayLockSQL exposes the lock by which relays take turns.
const RelayLockSQL = relayLockSQL
