package http

import (
	"errors"
	"net/http"
	"strings"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/api"
)

const (
	maxHeaderKeyLength   = 255
	maxHeaderValueLength = 4096
)

// headerKey reads a header name: an HTTP token that is not reserved
// (hookd.IsReservedHeader).
func (p *params) headerKey(required bool) *string {
	key, _ := p.Text("header_key", required, maxHeaderKeyLength)
	if key == nil {
		return nil
	}
	if !isToken(*key) {
		p.fail(invalid(p.name("header_key"), *key, "Must be an HTTP header name (letters, digits and !#$%&'*+-.^_`|~)"))
		return nil
	}
	if hookd.IsReservedHeader(*key) {
		p.fail(invalid(p.name("header_key"), *key, reservedHeaderRule))
		return nil
	}
	return key
}

// reservedHeaderRule is the rule a reserved header name breaks, naming them all.
var reservedHeaderRule = "Must not be a header that hookd sets, nor one about the connection or for a proxy: " +
	strings.Join(hookd.ReservedHeaders, ", ") + " or a name starting with " + hookd.ReservedHeaderPrefix

func isToken(s string) bool {
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return s != ""
}

// Handlers validate the body before looking records up, as Apipie checks
// parameters before the action runs.

func (s *Server) addHeader(w http.ResponseWriter, r *http.Request) error {
	obj, err := readObject(w, r, maxBodyBytes)
	if err != nil {
		return err
	}
	p := params{obj: obj}
	key := p.headerKey(true)
	value, _ := p.Text("header_value", true, maxHeaderValueLength)
	hidden, _ := p.Boolean("hidden")
	isHMAC, _ := p.Boolean("is_hmac")
	if p.err != nil {
		return p.err
	}
	wh, err := s.loadWebhook(r)
	if err != nil {
		return err
	}
	h := &hookd.Header{WebhookID: wh.ID, Key: *key, Value: *value, Hidden: hidden != nil && *hidden, IsHMAC: isHMAC != nil && *isHMAC}
	if err := s.store.AddHeader(r.Context(), h); err != nil {
		return s.webhookGone(r, err)
	}
	writeJSON(w, http.StatusOK, api.HeaderResponse{WebhookHeader: toAPIHeader(h, true)})
	return nil
}

func (s *Server) updateHeader(w http.ResponseWriter, r *http.Request) error {
	obj, err := readObject(w, r, maxBodyBytes)
	if err != nil {
		return err
	}
	p := params{obj: obj}
	var u hookd.HeaderUpdate
	u.Key = p.headerKey(false)
	u.Value, _ = p.Text("header_value", false, maxHeaderValueLength)
	u.Hidden, _ = p.Boolean("hidden")
	u.IsHMAC, _ = p.Boolean("is_hmac")
	if p.err != nil {
		return p.err
	}
	wh, err := s.loadWebhook(r)
	if err != nil {
		return err
	}
	headerID, err := pathID(r, "header_id", "WebhookHeader")
	if err != nil {
		return err
	}
	h, err := s.store.UpdateHeader(r.Context(), wh.ID, headerID, u)
	switch {
	case errors.Is(err, hookd.ErrNotFound):
		return notFound("WebhookHeader", r.PathValue("header_id"))
	case errors.Is(err, hookd.ErrHeaderKindChange):
		return errorf(http.StatusUnprocessableEntity, "Changing is_hmac changes what header_value is (an HMAC key, or a value sent as it is): send a new header_value with it")
	case errors.Is(err, hookd.ErrHeaderSecretShown):
		return errorf(http.StatusUnprocessableEntity, "A hidden or HMAC header's value is never shown again: send a new header_value to make it a plain header")
	}
	if err != nil {
		return err
	}
	// A value sent in this request is the caller's own, so it may be echoed.
	writeJSON(w, http.StatusOK, api.HeaderResponse{WebhookHeader: toAPIHeader(h, u.Value != nil)})
	return nil
}

func (s *Server) deleteHeader(w http.ResponseWriter, r *http.Request) error {
	wh, err := s.loadWebhook(r)
	if err != nil {
		return err
	}
	headerID, err := pathID(r, "header_id", "WebhookHeader")
	if err != nil {
		return err
	}
	err = s.store.DeleteHeader(r.Context(), wh.ID, headerID)
	if errors.Is(err, hookd.ErrNotFound) {
		return notFound("WebhookHeader", r.PathValue("header_id"))
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, okAnswer)
	return nil
}

// webhookGone maps ErrNotFound from a write on a webhook that was deleted
// after loadWebhook read it.
func (s *Server) webhookGone(r *http.Request, err error) error {
	if errors.Is(err, hookd.ErrNotFound) {
		return notFound("Webhook", r.PathValue("webhook_id"))
	}
	return err
}
