package hookd

import (
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"
)

// Project is an entry of the project registry: a webhook may only be scoped
// to a known project.
type Project struct {
	ID        string
	Title     string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ProjectFilter selects a page of the project registry
// (Store.ListProjects): the projects whose id or title contains Query, the
// case of ASCII letters ignored (every project when it is empty), oldest
// first, from the one created after the project After (from the first
// when it is empty), at most Limit of them. A registry fed by PROJECT_ADDED
// events may hold every project of a platform: no page holds them all.
type ProjectFilter struct {
	Query string
	After string
	Limit int
}

// The limits of a page of projects: DefaultProjectPage when none is
// asked for, at most MaxProjectPage.
const (
	DefaultProjectPage = 100
	MaxProjectPage     = 1000
)

// MaxProjectTitle is the longest project title, in characters, as the
// admin API takes it.
const MaxProjectTitle = 255

// eventTitle is a PROJECT_ADDED event's data.title as the registry keeps
// it: LoggableText, each control character (IsControl) replaced by U+FFFD,
// cut to MaxProjectTitle characters. A publisher cannot store a title the
// admin API would refuse to store (a megabyte, a line break), which every
// admin page that lists the projects would load.
func eventTitle(title string) string {
	title = strings.Map(func(r rune) rune {
		if IsControl(r) {
			return '\uFFFD'
		}
		return r
	}, LoggableText(title))
	if utf8.RuneCountInString(title) > MaxProjectTitle {
		title = string([]rune(title)[:MaxProjectTitle])
	}
	return title
}

// RegistryUpdate is what publishing e does to the project registry: a
// PROJECT_ADDED event registers its project, titled with data.title when
// that is a string (as eventTitle keeps it; a project already registered
// keeps its title), and a PROJECT_PURGED event removes it. Other events,
// and events without a project, change nothing. Stores apply it to each
// newly stored event, in order, in the transaction that stores it.
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
		return &Project{ID: *e.ProjectID, Title: eventTitle(title), CreatedAt: now, UpdatedAt: now}, nil
	case EventProjectPurged:
		id := *e.ProjectID
		return nil, &id
	}
	return nil, nil
}
