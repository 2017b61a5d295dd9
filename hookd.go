// Package hookd holds the domain of the hookd webhook service: webhooks,
// events, deliveries, API keys and projects; the storage contract (Store)
// that internal/sqlite and internal/postgres implement; and every rule
// written once above them (matching, signing secrets, a webhook's health,
// parking, paging, the project registry, what an attempt's result means).
//
// The layout follows the dependencies: internal/http serves the API,
// internal/delivery claims, sends and records what the store queues,
// internal/sqlite and internal/postgres keep the data, api/ holds the JSON
// bodies, client/ talks to a running hookd, cmd/hookd wires them together.
// docs/architecture.md follows one event through them.
package hookd

import "errors"

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
