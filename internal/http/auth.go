package http

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/hookd/hookd"
)

type keyContext struct{}

// callerKey returns the API key that authenticated r.
func callerKey(r *http.Request) *hookd.APIKey {
	k, _ := r.Context().Value(keyContext{}).(*hookd.APIKey)
	return k
}

// authorize checks X-API-KEY against the route's access. Every failure
// (missing, malformed, unknown, wrong secret, wrong role) is the same 401, so
// a caller learns nothing about which keys exist.
func (s *Server) authorize(r *http.Request, who access) error {
	if who == public {
		return nil
	}
	prefix, secret, ok := hookd.ParseAPIKey(r.Header.Get("X-API-KEY"))
	if !ok {
		return errUnauthorized
	}
	k, err := s.store.APIKeyByPrefix(r.Context(), prefix)
	if errors.Is(err, hookd.ErrNotFound) {
		return errUnauthorized
	}
	if err != nil {
		return err
	}
	if !k.Verify(secret) || (who == adminsOnly && k.Role != hookd.RoleAdmin) {
		return errUnauthorized
	}
	s.touch(r.Context(), k)
	*r = *r.WithContext(context.WithValue(r.Context(), keyContext{}, k))
	return nil
}

// touch records the key's last access, at most once a minute per key.
func (s *Server) touch(ctx context.Context, k *hookd.APIKey) {
	now := s.clock.Now()
	if last, ok := s.lastTouched.Load(k.ID); ok && now.Sub(last.(time.Time)) < time.Minute {
		return
	}
	if k.LastAccess != nil && now.Sub(*k.LastAccess) < time.Minute {
		s.lastTouched.Store(k.ID, *k.LastAccess)
		return
	}
	s.lastTouched.Store(k.ID, now)
	if err := s.store.TouchAPIKey(ctx, k.ID); err != nil {
		s.logger.Warn("could not record API key access", "key_prefix", k.Prefix, "err", err)
	}
}
