package http

import (
	"crypto/rand"
	"errors"
	"net/http"

	"github.com/hookd/hookd"
)

// projectJSON is MediaPocket's project object. hookd's registry knows only
// ids and titles; the other fields are there, empty, for clients that read
// them.
type projectJSON struct {
	ID               string   `json:"id"`
	ExternalID       *string  `json:"external_id"`
	ProjectID        *string  `json:"project_id"`
	Owner            *string  `json:"owner"`
	Title            string   `json:"title"`
	Description      *string  `json:"description"`
	Category         *string  `json:"category"`
	Tags             []string `json:"tags"`
	MediaType        string   `json:"media_type"`
	IsPublic         bool     `json:"isPublic"`
	ThumbnailAssetID *string  `json:"thumbnail_asset_id"`
	CreatedDate      jsonTime `json:"created_date"`
	ModificationDate jsonTime `json:"modification_date"`
	Deleted          *bool    `json:"deleted"`
	OriginalTitle    string   `json:"original_title"`
}

func toProjectJSON(p *hookd.Project) projectJSON {
	return projectJSON{ID: p.ID, Title: p.Title, Tags: []string{}, MediaType: "project",
		CreatedDate: jsonTime(p.CreatedAt), ModificationDate: jsonTime(p.UpdatedAt), OriginalTitle: p.Title}
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
	writeJSON(w, http.StatusOK, map[string]any{"project": toProjectJSON(p)})
	return nil
}

func (s *Server) listProjects(w http.ResponseWriter, r *http.Request) error {
	list, err := s.store.ListProjects(r.Context())
	if err != nil {
		return err
	}
	out := make([]projectJSON, 0, len(list))
	for _, p := range list {
		out = append(out, toProjectJSON(p))
	}
	writeJSON(w, http.StatusOK, map[string]any{"projects": out})
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
	writeJSON(w, http.StatusOK, map[string]any{"project": toProjectJSON(project)})
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
	writeJSON(w, http.StatusOK, map[string]string{"ok": "ok"})
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
