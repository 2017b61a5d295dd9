package postgres

// EraseWalkSQL exposes the statements by which an erasure reads a
// project's or a user's events, a chunk at a time.
var EraseWalkSQL = eraseWalkSQL
