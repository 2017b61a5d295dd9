package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/sqlite/sqlitetest"
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
	store := sqlitetest.Open(t)
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
		if err := bootstrapAdminKey(ctx, store, step.key, "--admin-api-key", logger); err != nil {
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
	err = bootstrapAdminKey(ctx, store, prefix+".taken-prefix-0123456789abcdef", "--admin-api-key", logger)
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
		if err == nil || !strings.HasPrefix(err.Error(), "invalid --admin-api-key: ") ||
			!strings.Contains(err.Error(), "a secret of 24 to 256 characters") || strings.Contains(err.Error(), key) {
			t.Errorf("%s: %v", key, err)
		}
	}
	t.Setenv("HOOKD_ADMIN_API_KEY", "k.x")
	err := run(context.Background(), []string{"serve", "--addr", "127.0.0.1:bad", "--database", database}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.HasPrefix(err.Error(), "invalid HOOKD_ADMIN_API_KEY: its secret is too short to be safe") {
		t.Errorf("from the environment: %v", err)
	}
}

// keysRun runs "hookd keys ..." on database and returns its output.
func keysRun(t *testing.T, database string, args ...string) (string, error) {
	t.Helper()
	var stdout bytes.Buffer
	err := run(context.Background(), append(append([]string{"keys"}, args...), "--database", database), &stdout, &bytes.Buffer{})
	return stdout.String(), err
}

func TestKeysListAndRevoke(t *testing.T) {
	database := filepath.Join(t.TempDir(), "hookd.db")
	// The keys commands manage an existing database: a mistyped
	// --database is refused, not created (a key made there would work on
	// no server).
	for _, args := range [][]string{{"list"}, {"create", "--name", "typo"}, {"revoke", "1"}} {
		out, err := keysRun(t, database, args...)
		if err == nil || err.Error() != "cannot open the SQLite database "+database+": it does not exist (check --database; hookd serve or hookd migrate creates it)" || out != "" {
			t.Errorf("keys %s on a database that does not exist: %q %v", args[0], out, err)
		}
		if _, err := os.Stat(database); err == nil {
			t.Fatalf("keys %s created %s", args[0], database)
		}
	}
	if err := run(context.Background(), []string{"migrate", "--database", database}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	if out, err := keysRun(t, database, "list"); err != nil || out != "no API keys\n" {
		t.Fatalf("empty list: %q %v", out, err)
	}
	admin, err := keysRun(t, database, "create", "--name", "ops team", "--admin")
	if err != nil {
		t.Fatal(err)
	}
	publisher, err := keysRun(t, database, "create", "--name", "publisher")
	if err != nil {
		t.Fatal(err)
	}
	adminPrefix, _, _ := hookd.ParseAPIKey(strings.TrimSpace(admin))
	publisherPrefix, _, _ := hookd.ParseAPIKey(strings.TrimSpace(publisher))
	if _, err := keysRun(t, database, "create", "--name", hookd.BootstrapKeyName); !errors.Is(err, hookd.ErrReservedKeyName) {
		t.Errorf("create with the bootstrap key's name: %v", err)
	}

	out, err := keysRun(t, database, "list")
	if err != nil {
		t.Fatal(err)
	}
	table := regexp.MustCompile(`^ID +PREFIX +ROLE +CREATED +LAST USED +NAME\n` +
		`1 +` + adminPrefix + ` +admin +\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ +never +ops team\n` +
		`2 +` + publisherPrefix + ` +publisher +\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ +never +publisher\n$`)
	if !table.MatchString(out) {
		t.Errorf("list:\n%s", out)
	}
	if strings.Contains(out, strings.TrimSpace(admin)[len(adminPrefix)+1:]) {
		t.Error("list shows a secret")
	}
	out, err = keysRun(t, database, "list", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var listed []map[string]any
	if err := json.Unmarshal([]byte(out), &listed); err != nil || len(listed) != 2 {
		t.Fatalf("list --json: %v\n%s", err, out)
	}
	if listed[0]["id"] != 1.0 || listed[0]["key_prefix"] != adminPrefix || listed[0]["name"] != "ops team" ||
		listed[0]["role"] != "admin" || listed[0]["last_access"] != nil || listed[0]["created_at"] == nil {
		t.Errorf("list --json: %v", listed[0])
	}

	if _, err := keysRun(t, database, "revoke", "nosuchkey"); err == nil || !strings.Contains(err.Error(), `no API key has the prefix or id "nosuchkey"`) {
		t.Errorf("revoke an unknown key: %v", err)
	}
	if _, err := keysRun(t, database, "revoke"); err == nil || !strings.Contains(err.Error(), "give the prefix or the id") {
		t.Errorf("revoke without a key: %v", err)
	}
	if out, err := keysRun(t, database, "revoke", adminPrefix); err != nil || out != `revoked key 1 (prefix `+adminPrefix+`, admin, "ops team")`+"\n" {
		t.Errorf("revoke by prefix: %q %v", out, err)
	}
	// The key may come after the flags too.
	var stdout bytes.Buffer
	err = run(context.Background(), []string{"keys", "revoke", "--database", database, "2"}, &stdout, &bytes.Buffer{})
	if out := stdout.String(); err != nil || !strings.HasPrefix(out, "revoked key 2 ") {
		t.Errorf("revoke by id: %q %v", out, err)
	}
	if out, err := keysRun(t, database, "list"); err != nil || out != "no API keys\n" {
		t.Errorf("list after revoking both: %q %v", out, err)
	}
}

// A prefix that is also another key's id names neither: the operator says
// which; revoking the bootstrap key says that the setting brings it back.
func TestKeysRevokeAmbiguousAndBootstrap(t *testing.T) {
	ctx := context.Background()
	database := filepath.Join(t.TempDir(), "hookd.db")
	store, err := openStore(ctx, database)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hookd.IssueAPIKey(ctx, store, hookd.DefaultUserID, "first", hookd.RolePublisher); err != nil {
		t.Fatal(err)
	}
	if err := bootstrapAdminKey(ctx, store, "1.bootstrap-secret-0123456789abcdef", "--admin-api-key", slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	store.Close()

	_, err = keysRun(t, database, "revoke", "1")
	if err == nil || err.Error() != `"1" is the prefix of key 2 and the id of key 1 (prefix `+firstPrefix(t, database)+`): write prefix:1 or id:1` {
		t.Errorf("ambiguous: %v", err)
	}
	out, err := keysRun(t, database, "revoke", "prefix:1")
	if err != nil || !strings.HasPrefix(out, `revoked key 2 (prefix 1, admin, "`+hookd.BootstrapKeyName+`")`) ||
		!strings.Contains(out, "hookd registers it again when it starts with that setting") {
		t.Errorf("revoke the bootstrap key: %q %v", out, err)
	}
	if out, err := keysRun(t, database, "revoke", "id:1"); err != nil || !strings.HasPrefix(out, "revoked key 1 ") {
		t.Errorf("revoke id:1: %q %v", out, err)
	}
}

func firstPrefix(t *testing.T, database string) string {
	t.Helper()
	out, err := keysRun(t, database, "list", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var listed []struct {
		KeyPrefix string `json:"key_prefix"`
	}
	if err := json.Unmarshal([]byte(out), &listed); err != nil || len(listed) == 0 {
		t.Fatalf("list --json: %v\n%s", err, out)
	}
	return listed[0].KeyPrefix
}
