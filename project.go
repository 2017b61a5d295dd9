package hookd

import (
	"encoding/json"
	"time"
)

// Project is an entry of the project registry: a webhook may only be scoped
// to a known project.
type Project struct {
	ID        string
	Title     string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// RegistryUpdate is what publishing e does to the project registry: a
// PROJECT_ADDED event registers its project, titled with data.title when
// that is a string (as LoggableText keeps it: PostgreSQL's text takes no
// NUL; a project already registered keeps its title), and a
// PROJECT_PURGED event removes it. Other events, and events without a
// project, change nothing. Stores apply it to each newly stored event, in
// order, in the transaction that stores it.
func (e *Event) RegistryUpdate(now time.Time) (add *Project, remove *string) {
	if e.ProjectID == nil {
		return nil, nil
	}
	switch e.Event {
	case EventProjectAdded:
		var data struct {
			Title any `json:"title"`
		}
		json.Unmarshal(e.Data, &data) // data that is not an object has no title
		title, _ := data.Title.(string)
		return &Project{ID: *e.ProjectID, Title: LoggableText(title), CreatedAt: now, UpdatedAt: now}, nil
	case EventProjectPurged:
		id := *e.ProjectID
		return nil, &id
	}
	return nil, nil
}
