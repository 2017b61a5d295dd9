package http

import (
	"errors"
	"net/http"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/api"
)

func (s *Server) addUser(w http.ResponseWriter, r *http.Request) error {
	obj, err := readObject(w, r, maxBodyBytes)
	if err != nil {
		return err
	}
	p := params{obj: obj}
	userID, _ := p.Integer("user_id", true, false)
	if p.err != nil {
		return p.err
	}
	webhookID, err := pathID(r, "webhook_id", "Webhook")
	if err != nil {
		return err
	}
	u := &hookd.WebhookUser{WebhookID: webhookID, UserID: *userID}
	err = s.store.AddUser(r.Context(), u)
	if errors.Is(err, hookd.ErrConflict) {
		return errorf(http.StatusUnprocessableEntity, "User %d is already a user of this webhook", *userID)
	}
	if err != nil {
		return s.webhookGone(r, err)
	}
	writeJSON(w, http.StatusOK, api.WebhookUserResponse{WebhookUser: toAPIUser(u)})
	return nil
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request) error {
	wh, err := s.loadWebhook(r)
	if err != nil {
		return err
	}
	userID, err := pathID(r, "webhook_user_id", "WebhookUser")
	if err != nil {
		return err
	}
	err = s.store.DeleteUser(r.Context(), wh.ID, userID)
	if errors.Is(err, hookd.ErrNotFound) {
		return notFound("WebhookUser", r.PathValue("webhook_user_id"))
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, okAnswer)
	return nil
}
