package postgres

// WrapErr exposes wrapErr to the external tests.
var WrapErr = wrapErr
