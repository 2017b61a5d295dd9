package http

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/api"
)

// toAPIProject shows a registered project as MediaPocket's project object.
func toAPIProject(p *hookd.Project) api.Project {
	return api.Project{ID: p.ID, Title: p.Title, Tags: []string{}, MediaType: "project",
		CreatedDate: api.Time{Time: p.CreatedAt}, ModificationDate: api.Time{Time: p.UpdatedAt}, OriginalTitle: p.Title}
}

var errProjectNotFound = errorf(http.StatusNotFound, "project not found")

// projectInPath returns the project id in r's path, or errProjectNotFound
// when it cannot be one (invalid UTF-8 or a NUL, which PostgreSQL refuses
// to compare: a 500 for any key to cause, and a line in the error log).
func projectInPath(r *http.Request) (string, error) {
	id := r.PathValue("project_id")
	if !hookd.ValidProjectID(id) {
		return "", errProjectNotFound
	}
	return id, nil
}

func (s *Server) getProject(w http.ResponseWriter, r *http.Request) error {
	id, err := projectInPath(r)
	if err != nil {
		return err
	}
	p, err := s.store.Project(r.Context(), id)
	if errors.Is(err, hookd.ErrNotFound) {
		return errProjectNotFound
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.ProjectResponse{Project: toAPIProject(p)})
	return nil
}

func (s *Server) listProjects(w http.ResponseWriter, r *http.Request) error {
	f, err := projectFilter(r)
	if err != nil {
		return err
	}
	list, err := s.store.ListProjects(r.Context(), f)
	if errors.Is(err, hookd.ErrNotFound) {
		return errProjectNotFound // after names a project no longer registered
	}
	if err != nil {
		return err
	}
	out := api.ProjectsResponse{Projects: make([]api.Project, 0, len(list))}
	for _, p := range list {
		out.Projects = append(out.Projects, toAPIProject(p))
	}
	if len(list) == f.Limit {
		// A full page: there may be more after its last project.
		q := r.URL.Query()
		q.Set("after", list[len(list)-1].ID)
		q.Set("limit", strconv.Itoa(f.Limit))
		next := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
		w.Header().Set("Link", "<"+next.String()+`>; rel="next"`)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// projectFilter reads a page of the registry from q (search), limit and
// after (the last project of the page before).
func projectFilter(r *http.Request) (hookd.ProjectFilter, error) {
	q := r.URL.Query()
	f := hookd.ProjectFilter{Limit: hookd.DefaultProjectPage}
	var err error
	if f.Query, err = searchParam(q); err != nil {
		return f, err
	}
	if q.Has("limit") {
		p := params{obj: map[string]any{"limit": q.Get("limit")}}
		limit, _ := p.Integer("limit", false, false)
		if p.err != nil {
			return f, p.err
		}
		if *limit < 1 || *limit > hookd.MaxProjectPage {
			return f, invalid("limit", q.Get("limit"), fmt.Sprintf("Must be an Integer from 1 to %d", hookd.MaxProjectPage))
		}
		f.Limit = int(*limit)
	}
	if q.Has("after") {
		if f.After = q.Get("after"); !hookd.ValidProjectID(f.After) {
			return f, invalid("after", f.After, ruleProjectID)
		}
	}
	return f, nil
}

func (s *Server) createProject(w http.ResponseWriter, r *http.Request) error {
	obj, err := readObject(w, r, maxBodyBytes)
	if err != nil {
		return err
	}
	p := params{obj: obj}
	id, _ := p.ProjectID("id", false, false)
	title, _ := p.Text("title", true, maxNameLength)
	if p.err != nil {
		return p.err
	}
	project := &hookd.Project{Title: *title}
	if id != nil {
		project.ID = *id
	} else {
		project.ID = newProjectID()
	}
	err = s.store.CreateProject(r.Context(), project)
	if errors.Is(err, hookd.ErrConflict) {
		return errorf(http.StatusUnprocessableEntity, "project %s already exists", project.ID)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.ProjectResponse{Project: toAPIProject(project)})
	return nil
}

func (s *Server) deleteProject(w http.ResponseWriter, r *http.Request) error {
	id, err := projectInPath(r)
	if err != nil {
		return err
	}
	err = s.store.DeleteProject(r.Context(), id)
	if errors.Is(err, hookd.ErrNotFound) {
		return errProjectNotFound
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, okAnswer)
	return nil
}

// newProjectID makes an id like MediaPocket's: 20 characters of
// [A-Za-z0-9_-].
func newProjectID() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
	var b [20]byte
	rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[b[i]%64]
	}
	return string(b[:])
}
