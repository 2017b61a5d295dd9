package http

import (
	"crypto/rand"
	"errors"
	"net/http"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/api"
)

// toAPIProject shows a registered project as MediaPocket's project object.
func toAPIProject(p *hookd.Project) api.Project {
	return api.Project{ID: p.ID, Title: p.Title, Tags: []string{}, MediaType: "project",
		CreatedDate: api.Time{Time: p.CreatedAt}, ModificationDate: api.Time{Time: p.UpdatedAt}, OriginalTitle: p.Title}
}

var errProjectNotFound = errorf(http.StatusNotFound, "project not found")

func (s *Server) getProject(w http.ResponseWriter, r *http.Request) error {
	p, err := s.store.Project(r.Context(), r.PathValue("project_id"))
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
	list, err := s.store.ListProjects(r.Context())
	if err != nil {
		return err
	}
	out := api.ProjectsResponse{Projects: make([]api.Project, 0, len(list))}
	for _, p := range list {
		out.Projects = append(out.Projects, toAPIProject(p))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
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
	err := s.store.DeleteProject(r.Context(), r.PathValue("project_id"))
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
