package hookd

import "time"

// Project is an entry of the project registry: a webhook may only be scoped
// to a known project.
type Project struct {
	ID        string
	Title     string
	CreatedAt time.Time
	UpdatedAt time.Time
}
