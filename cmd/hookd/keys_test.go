package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/sqlite"
)

// keyIsValid reports whether plaintext authenticates against store.
func keyIsValid(t *testing.T, store hookd.Store, plaintext string) bool {
	t.Helper()
	prefix, secret, _ := hookd.ParseAPIKey(plaintext)
	k, err := store.APIKeyByPrefix(context.Background(), prefix)
	if errors.Is(err, hookd.ErrNotFound) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return k.Verify(secret)
}

// A new HOOKD_ADMIN_API_KEY revokes the one it replaced, under another
// prefix or under the same one with another secret; the other keys stay.
func TestBootstrapAdminKeyRevokesTheKeyItReplaced(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hookd.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	logger := slog.New(slog.DiscardHandler)
	other, err := hookd.IssueAPIKey(ctx, store, hookd.DefaultUserID, "ci", hookd.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}

	const first, second, rotated = "admin.first-secret-0123456789abcdef", "ops.second-secret-0123456789abcdef", "ops.rotated-secret-0123456789abcdef"
	steps := []struct {
		key            string
		valid, revoked []string
	}{
		{first, []string{first}, nil},
		{first, []string{first}, nil}, // a restart with the same key keeps it
		{second, []string{second}, []string{first}},
		{rotated, []string{rotated}, []string{second}},
		{"", []string{rotated}, nil}, // without the setting, the last key stays
	}
	for i, step := range steps {
		if err := bootstrapAdminKey(ctx, store, step.key, logger); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		for _, k := range step.valid {
			if !keyIsValid(t, store, k) {
				t.Errorf("step %d: %s is not valid", i, k)
			}
		}
		for _, k := range step.revoked {
			if keyIsValid(t, store, k) {
				t.Errorf("step %d: %s is still valid", i, k)
			}
		}
		if !keyIsValid(t, store, other) {
			t.Fatalf("step %d: a key made with the CLI was revoked", i)
		}
		keys, err := store.ListAPIKeys(ctx, hookd.DefaultUserID)
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != 2 {
			t.Errorf("step %d: %d keys, want the bootstrap key and the CLI's", i, len(keys))
		}
	}

	// A prefix that a key made otherwise has is refused, and changes nothing.
	prefix, _, _ := hookd.ParseAPIKey(other)
	err = bootstrapAdminKey(ctx, store, prefix+".taken-prefix-0123456789abcdef", logger)
	if err == nil || !strings.Contains(err.Error(), "choose another prefix") {
		t.Errorf("a taken prefix: %v", err)
	}
	if !keyIsValid(t, store, other) || !keyIsValid(t, store, rotated) {
		t.Error("a refused key changed the keys")
	}
}

// A weak or malformed admin key stops serve before it opens the database,
// with the format in the error and without showing the key.
func TestServeRefusesWeakAdminKey(t *testing.T) {
	database := filepath.Join(t.TempDir(), "hookd.db")
	for _, key := range []string{"k.x", "admin.0123456789abcdef0123456", "no-dot-at-all-0123456789abcdef"} {
		err := run(context.Background(), []string{"serve", "--addr", "127.0.0.1:bad", "--database", database, "--admin-api-key", key}, &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil || !strings.HasPrefix(err.Error(), "invalid --admin-api-key (HOOKD_ADMIN_API_KEY): ") ||
			!strings.Contains(err.Error(), "a secret of at least 24 characters") || strings.Contains(err.Error(), key) {
			t.Errorf("%s: %v", key, err)
		}
	}
	t.Setenv("HOOKD_ADMIN_API_KEY", "k.x")
	err := run(context.Background(), []string{"serve", "--addr", "127.0.0.1:bad", "--database", database}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "its secret is too short to be safe") {
		t.Errorf("from the environment: %v", err)
	}
}
