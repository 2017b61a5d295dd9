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

// credentials are the prefix and secret a request carries in X-API-KEY;
// ok is false when it carries none that hookd.ParseAPIKey accepts (missing
// or malformed).
type credentials struct {
	prefix, secret string
	ok             bool
}

func requestCredentials(r *http.Request) credentials {
	prefix, secret, ok := hookd.ParseAPIKey(r.Header.Get("X-API-KEY"))
	return credentials{prefix, secret, ok}
}

// authenticate returns the stored key of c. Every failure (missing,
// malformed, unknown, wrong secret) is the same errUnauthorized, so a
// caller learns nothing about which keys exist. Its cost is bounded whoever
// calls: a malformed key is refused before the store is asked, and a
// well-formed one costs one lookup by prefix (from memory for a stored key:
// hookd.KeyCache) and, if the prefix is stored, one SHA-256 of a secret of
// at most hookd.MaxSecretLength bytes.
func (s *Server) authenticate(ctx context.Context, c credentials) (*hookd.APIKey, error) {
	if !c.ok {
		return nil, errUnauthorized
	}
	k, err := s.keys.Key(ctx, c.prefix)
	if errors.Is(err, hookd.ErrNotFound) {
		return nil, errUnauthorized
	}
	if err != nil {
		return nil, err
	}
	if !k.Verify(c.secret) {
		return nil, errUnauthorized
	}
	return k, nil
}

// authorize lets k call a route of access who (the same 401 as a bad key
// otherwise) and makes it r's caller (callerKey).
func (s *Server) authorize(r *http.Request, k *hookd.APIKey, who access) error {
	if who == adminsOnly && k.Role != hookd.RoleAdmin {
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
