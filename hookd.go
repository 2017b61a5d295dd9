// Package hookd holds the domain of the hookd webhook service: webhooks,
// events, deliveries, API keys and projects, the storage contract that the
// sqlite and postgres packages implement, and the rules shared by the API and
// the delivery workers (event matching, key hashing, signing secrets).
//
// The layout follows the dependencies: http/ serves the API, delivery/ sends
// what the store queues, sqlite/ and postgres/ keep the data, client/ talks to
// a running hookd, cmd/hookd wires them together.
package hookd

import (
	"errors"
	"time"
)

// Version is the hookd version, set at build time with
// -ldflags "-X github.com/hookd/hookd.Version=v1.2.3 -X github.com/hookd/hookd.Commit=abc".
var (
	Version = "dev"
	Commit  = "unknown"
)

// Errors returned by a Store. The HTTP layer turns them into MediaPocket's
// messages, which name the resource and the id as the client gave it.
var (
	ErrNotFound    = errors.New("not found")
	ErrConflict    = errors.New("conflict")
	ErrUnavailable = errors.New("database unavailable")

	ErrProjectNotFound = errors.New("project not found")
)

// Roles of an API key.
const (
	RoleAdmin     = "admin"
	RolePublisher = "publisher"
)

// TimeLayout is how hookd shows times, in the API and in delivery bodies:
// UTC, milliseconds, "Z" (2023-11-27T09:42:39.937Z).
const TimeLayout = "2006-01-02T15:04:05.000Z"

// Now returns the current time at the precision hookd stores and shows:
// UTC, milliseconds.
func Now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }
