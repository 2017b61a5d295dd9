package http

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/api"
)

// MediaPocket's API keys of the calling user. hookd has no user accounts:
// the keys made by the CLI and by the bootstrap variable belong to
// hookd.DefaultUserID, and a key made here belongs to its maker's user.

func (s *Server) listAPIKeys(w http.ResponseWriter, r *http.Request) error {
	keys, err := s.store.ListAPIKeys(r.Context(), callerKey(r).UserID)
	if err != nil {
		return err
	}
	out := api.APIKeysResponse{APIKeys: make([]api.APIKey, 0, len(keys))}
	for _, k := range keys {
		out.APIKeys = append(out.APIKeys, api.APIKey{ID: k.ID, KeyPrefix: k.Prefix, Name: k.Name, LastAccess: api.TimeOf(k.LastAccess), Role: k.Role})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) createAPIKey(w http.ResponseWriter, r *http.Request) error {
	obj, err := readObject(w, r, maxBodyBytes)
	if err != nil {
		return err
	}
	p := params{obj: obj}
	name, _ := p.Text("name", true, maxNameLength)
	if name != nil && *name == hookd.BootstrapKeyName {
		p.fail(invalid(p.name("name"), *name, "Must not be the name of the key that hookd registers from HOOKD_ADMIN_API_KEY"))
	}
	if p.err != nil {
		return p.err
	}
	caller := callerKey(r)
	plaintext, err := hookd.IssueAPIKey(r.Context(), s.store, caller.UserID, *name, caller.Role)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.APIKeyCreated{APIKey: plaintext})
	return nil
}

func (s *Server) deleteAPIKey(w http.ResponseWriter, r *http.Request) error {
	raw := r.PathValue("api_key_id")
	errNotFound := errorf(http.StatusNotFound, `Couldn't find ApiKey with 'id'=%s [WHERE "api_keys"."user_id" = $1]`, raw)
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return errNotFound
	}
	err = s.store.DeleteAPIKey(r.Context(), callerKey(r).UserID, id)
	if err == nil {
		s.keys.Clear()
	}
	if errors.Is(err, hookd.ErrNotFound) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, okAnswer)
	return nil
}
