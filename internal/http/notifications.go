package http

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/api"
)

// Operational notifications' subscriptions (hookd.Notification). Each is
// delivered by a webhook of its own, which the webhooks' routes do not
// show (customersWebhook).

var ruleKinds = "Must be an array of one or more of: " + strings.Join(hookd.NotificationKinds, ", ")

func toAPINotification(n *hookd.Notification) api.Notification {
	return api.Notification{ID: n.ID, URL: n.URL, Kinds: n.Kinds, Disabled: n.Disabled,
		CreatedAt: api.Time{Time: n.CreatedAt}, UpdatedAt: api.Time{Time: n.UpdatedAt}}
}

func writeNotification(w http.ResponseWriter, n *hookd.Notification) {
	writeJSON(w, http.StatusOK, api.NotificationResponse{Notification: toAPINotification(n)})
}

// Kinds reads a non-empty array of notification kinds, none repeated.
func (p *params) Kinds(key string) ([]string, bool) {
	v, ok := p.lookup(key, false)
	if !ok {
		return nil, false
	}
	list, isList := v.([]any)
	kinds := make([]string, 0, len(list))
	for _, item := range list {
		s, isString := item.(string)
		if !isString {
			isList = false
			break
		}
		kinds = append(kinds, s)
	}
	if !isList || hookd.CheckNotificationKinds(kinds) != nil {
		p.fail(invalid(p.name(key), v, ruleKinds))
		return nil, false
	}
	return kinds, true
}

func (s *Server) listNotifications(w http.ResponseWriter, r *http.Request) error {
	list, err := s.store.ListNotifications(r.Context())
	if err != nil {
		return err
	}
	out := api.NotificationsResponse{Notifications: make([]api.Notification, 0, len(list))}
	for _, n := range list {
		out.Notifications = append(out.Notifications, toAPINotification(n))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) createNotification(w http.ResponseWriter, r *http.Request) error {
	obj, err := readObject(w, r, maxBodyBytes)
	if err != nil {
		return err
	}
	p := params{obj: obj}
	url, _ := p.URL("url", true)
	kinds, hasKinds := p.Kinds("kinds")
	if p.err != nil {
		return p.err
	}
	if !hasKinds {
		kinds = slices.Clone(hookd.NotificationKinds)
	}
	n := &hookd.Notification{URL: *url, Kinds: kinds}
	if err := s.store.CreateNotification(r.Context(), n, hookd.NewSigningSecret()); err != nil {
		return err
	}
	writeNotification(w, n)
	return nil
}

// loadNotification reads the subscription of the path's notification_id.
func (s *Server) loadNotification(r *http.Request) (*hookd.Notification, error) {
	id, err := pathID(r, "notification_id", "Notification")
	if err != nil {
		return nil, err
	}
	n, err := s.store.Notification(r.Context(), id)
	if errors.Is(err, hookd.ErrNotFound) {
		return nil, notFound("Notification", r.PathValue("notification_id"))
	}
	return n, err
}

func (s *Server) getNotification(w http.ResponseWriter, r *http.Request) error {
	n, err := s.loadNotification(r)
	if err != nil {
		return err
	}
	writeNotification(w, n)
	return nil
}

// updateNotification changes the keys present (url, kinds, disabled);
// nothing is stored unless every key is valid.
func (s *Server) updateNotification(w http.ResponseWriter, r *http.Request) error {
	obj, err := readObject(w, r, maxBodyBytes)
	if err != nil {
		return err
	}
	p := params{obj: obj}
	url, _ := p.URL("url", false)
	kinds, hasKinds := p.Kinds("kinds")
	disabled, _ := p.Boolean("disabled")
	if p.err != nil {
		return p.err
	}
	n, err := s.loadNotification(r)
	if err != nil {
		return err
	}
	if url != nil || disabled != nil {
		if _, err := s.store.UpdateWebhook(r.Context(), n.WebhookID, hookd.WebhookUpdate{HTTPURL: url, Disabled: disabled}); err != nil {
			return s.notificationGone(r, err)
		}
	}
	if hasKinds {
		_, err = s.store.SetNotificationKinds(r.Context(), n.ID, kinds)
	}
	if err == nil {
		n, err = s.store.Notification(r.Context(), n.ID)
	}
	if err != nil {
		return s.notificationGone(r, err)
	}
	writeNotification(w, n)
	return nil
}

func (s *Server) deleteNotification(w http.ResponseWriter, r *http.Request) error {
	n, err := s.loadNotification(r)
	if err != nil {
		return err
	}
	if err := s.store.DeleteWebhook(r.Context(), n.WebhookID); err != nil {
		return s.notificationGone(r, err)
	}
	writeJSON(w, http.StatusOK, api.OK{OK: "ok"})
	return nil
}

func (s *Server) getNotificationSecret(w http.ResponseWriter, r *http.Request) error {
	n, err := s.loadNotification(r)
	if err != nil {
		return err
	}
	secrets, err := s.store.Secrets(r.Context(), n.WebhookID)
	if err != nil {
		return s.notificationGone(r, err)
	}
	writeJSON(w, http.StatusOK, api.SecretResponse{Secret: secrets[0]})
	return nil
}

func (s *Server) notificationSuccessLog(w http.ResponseWriter, r *http.Request) error {
	n, err := s.loadNotification(r)
	if err != nil {
		return err
	}
	entries, err := s.logPage(r, n.WebhookID, true)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.SuccessLogResponse{SuccessLog: entries})
	return nil
}

func (s *Server) notificationFailedLog(w http.ResponseWriter, r *http.Request) error {
	n, err := s.loadNotification(r)
	if err != nil {
		return err
	}
	entries, err := s.logPage(r, n.WebhookID, false)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.FailedLogResponse{FailedLog: entries})
	return nil
}

// notificationGone answers 404 for a subscription deleted during the
// request.
func (s *Server) notificationGone(r *http.Request, err error) error {
	if errors.Is(err, hookd.ErrNotFound) {
		return notFound("Notification", r.PathValue("notification_id"))
	}
	return err
}

// customersWebhook answers 404, as for an unknown webhook, when the path's
// webhook_id is the webhook of a notification subscription: the webhooks'
// routes are the customers' webhooks only.
func (s *Server) customersWebhook(r *http.Request) error {
	id, err := pathID(r, "webhook_id", "Webhook")
	if err != nil {
		return nil // the route answers it
	}
	ids, err := s.notificationWebhooks(r)
	if err != nil {
		return err
	}
	if ids[id] {
		return notFound("Webhook", r.PathValue("webhook_id"))
	}
	return nil
}

// notificationWebhooks returns the ids of the subscriptions' webhooks.
func (s *Server) notificationWebhooks(r *http.Request) (map[int64]bool, error) {
	list, err := s.store.ListNotifications(r.Context())
	if err != nil {
		return nil, err
	}
	ids := make(map[int64]bool, len(list))
	for _, n := range list {
		ids[n.WebhookID] = true
	}
	return ids, nil
}

// CheckNotificationURL checks url with the rule of a subscription's url,
// for URLs that come from elsewhere than the API (serve's --notify-urls).
func CheckNotificationURL(url string) error {
	p := params{obj: map[string]any{"url": url}}
	p.URL("url", true)
	return p.err
}
