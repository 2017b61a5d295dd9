package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/hookd/hookd"
)

// checkAdminAPIKey checks --admin-api-key (HOOKD_ADMIN_API_KEY), when set,
// without showing it.
func checkAdminAPIKey(key string) error {
	if key == "" {
		return nil
	}
	if _, _, err := hookd.ParseBootstrapKey(key); err != nil {
		return fmt.Errorf("invalid --admin-api-key (HOOKD_ADMIN_API_KEY): %w", err)
	}
	return nil
}

// bootstrapAdminKey registers the admin key of --admin-api-key
// (HOOKD_ADMIN_API_KEY) unless it is stored already, so that an install can
// be scripted, and revokes the keys it replaced: every other key named
// hookd.BootstrapKeyName, one with the same prefix and another secret too.
// Without the setting, the key registered last stays. A prefix that another
// kind of key has is an error: that key is not the operator's to replace.
func bootstrapAdminKey(ctx context.Context, store hookd.Store, key string, logger *slog.Logger) error {
	if key == "" {
		return nil
	}
	prefix, secret, err := hookd.ParseBootstrapKey(key)
	if err != nil {
		return err
	}
	existing, err := store.APIKeyByPrefix(ctx, prefix)
	switch {
	case errors.Is(err, hookd.ErrNotFound):
		existing = nil
	case err != nil:
		return err
	case existing.Verify(secret):
	case existing.Name != hookd.BootstrapKeyName:
		return fmt.Errorf("--admin-api-key (HOOKD_ADMIN_API_KEY): its prefix %q is the prefix of key %d (%q), which hookd did not register from this setting: choose another prefix",
			prefix, existing.ID, existing.Name)
	default:
		if err := revokeReplacedKey(ctx, store, existing, logger); err != nil {
			return err
		}
		existing = nil
	}
	if existing == nil {
		k := &hookd.APIKey{UserID: hookd.DefaultUserID, Prefix: prefix, SecretHash: hookd.HashSecret(secret), Name: hookd.BootstrapKeyName, Role: hookd.RoleAdmin}
		// A conflict is another process registering the same key at once.
		if err := store.CreateAPIKey(ctx, k); err != nil && !errors.Is(err, hookd.ErrConflict) {
			return err
		}
		logger.Info("registered the admin key from HOOKD_ADMIN_API_KEY", "key_prefix", prefix)
	}
	keys, err := store.ListAPIKeys(ctx, hookd.DefaultUserID)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if k.Name == hookd.BootstrapKeyName && k.Prefix != prefix {
			if err := revokeReplacedKey(ctx, store, k, logger); err != nil {
				return err
			}
		}
	}
	return nil
}

func revokeReplacedKey(ctx context.Context, store hookd.Store, k *hookd.APIKey, logger *slog.Logger) error {
	// Not found: another process starting with the same setting revoked it first.
	if err := store.DeleteAPIKey(ctx, k.UserID, k.ID); err != nil && !errors.Is(err, hookd.ErrNotFound) {
		return err
	}
	logger.Info("revoked the admin key that HOOKD_ADMIN_API_KEY replaced", "key_prefix", k.Prefix, "key_id", k.ID)
	return nil
}
