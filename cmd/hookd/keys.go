package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/api"
)

const keysUsage = `use "hookd keys create --name NAME [--admin]", "hookd keys list [--json]" or "hookd keys revoke PREFIX|ID"`

const keysHelp = `Usage:
  hookd keys create --name N [--admin]      create an API key and print it once
  hookd keys list [--json]                  list the API keys (never their secrets)
  hookd keys revoke PREFIX|ID               revoke an API key

Each acts on the database of --database (env HOOKD_DATABASE, or database in
--config), which must exist: hookd serve or hookd migrate creates it.
Run "hookd keys <command> --help" for its settings.
`

// keysCmd runs "hookd keys <create|list|revoke>", which act on the
// database directly (--database), so they work while hookd is stopped.
func keysCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("no keys command given: " + keysUsage)
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "help", "-h", "--help", "-help":
		if len(rest) > 0 && slices.Contains([]string{"create", "list", "revoke"}, rest[0]) {
			return keysCmd(ctx, []string{rest[0], "--help"}, stdout, stderr) // hookd keys help create
		}
		fmt.Fprint(stderr, keysHelp)
		return flag.ErrHelp // printed, as a command's --help does
	case "create":
		return createKey(ctx, rest, stdout, stderr)
	case "list":
		return listKeys(ctx, rest, stdout, stderr)
	case "revoke":
		return revokeKey(ctx, rest, stdout, stderr)
	default:
		return fmt.Errorf("unknown keys command %q: %s", cmd, keysUsage)
	}
}

// listedKey is a key as "hookd keys list --json" prints it.
type listedKey struct {
	ID         int64     `json:"id"`
	KeyPrefix  string    `json:"key_prefix"`
	Name       string    `json:"name"`
	Role       string    `json:"role"`
	CreatedAt  api.Time  `json:"created_at"`
	LastAccess *api.Time `json:"last_access"`
}

// listKeys prints every API key, oldest first, never a secret. Every key
// belongs to hookd.DefaultUserID: the CLI and the bootstrap make theirs
// there, and a key made through the API belongs to its maker's user.
func listKeys(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("keys list", stderr)
	database := databaseFlag(fs)
	configFlag(fs)
	asJSON := fs.Bool("json", false, "print the keys as a JSON array")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	store, err := openExistingStore(ctx, *database)
	if err != nil {
		return err
	}
	defer store.Close()
	keys, err := store.ListAPIKeys(ctx, hookd.DefaultUserID)
	if err != nil {
		return err
	}
	if *asJSON {
		out := make([]listedKey, 0, len(keys))
		for _, k := range keys {
			out = append(out, listedKey{ID: k.ID, KeyPrefix: k.Prefix, Name: k.Name, Role: k.Role,
				CreatedAt: api.Time{Time: k.CreatedAt}, LastAccess: api.TimeOf(k.LastAccess)})
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	if len(keys) == 0 {
		_, err := fmt.Fprintln(stdout, "no API keys")
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPREFIX\tROLE\tCREATED\tLAST USED\tNAME")
	for _, k := range keys {
		lastUsed := "never"
		if k.LastAccess != nil {
			lastUsed = formatTime(*k.LastAccess)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Prefix, k.Role, formatTime(k.CreatedAt), lastUsed, k.Name)
	}
	return tw.Flush()
}

func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") }

// revokeKey deletes the key that its argument names by prefix or id; the
// argument may come before or after the flags.
func revokeKey(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("keys revoke", stderr)
	database := databaseFlag(fs)
	configFlag(fs)
	ref, args := cutArgument(fs, args)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if ref == "" {
		return errors.New("give the prefix or the id of the key to revoke: hookd keys revoke PREFIX|ID (hookd keys list shows them)")
	}
	store, err := openExistingStore(ctx, *database)
	if err != nil {
		return err
	}
	defer store.Close()
	k, err := findKey(ctx, store, ref)
	if err != nil {
		return err
	}
	if err := store.DeleteAPIKey(ctx, k.UserID, k.ID); err != nil {
		if errors.Is(err, hookd.ErrNotFound) {
			return fmt.Errorf("key %d (prefix %s) was revoked meanwhile", k.ID, k.Prefix)
		}
		return err
	}
	fmt.Fprintf(stdout, "revoked key %d (prefix %s, %s, %q)\n", k.ID, k.Prefix, k.Role, k.Name)
	if k.Name == hookd.BootstrapKeyName {
		fmt.Fprintln(stdout, "It was the key of --admin-api-key (HOOKD_ADMIN_API_KEY): hookd registers it again when it starts with that setting, so change or remove the setting too.")
	}
	return nil
}

// cutArgument takes out of args the first one that is neither a flag of fs
// nor a flag's value, so that it may come before, between or after them.
func cutArgument(fs *flag.FlagSet, args []string) (arg string, rest []string) {
	for i := 0; i < len(args); i++ {
		if !strings.HasPrefix(args[i], "-") {
			return args[i], append(slices.Clone(args[:i]), args[i+1:]...)
		}
		// -name and --name are flags; -name=value holds its value.
		name := strings.TrimPrefix(strings.TrimPrefix(args[i], "-"), "-")
		if f := fs.Lookup(name); f != nil && !isBoolFlag(f) {
			i++ // the flag's value
		}
	}
	return "", args
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// findKey finds the key that ref names: "prefix:P" or "id:N", or else a
// prefix or an id, which must not name two different keys.
func findKey(ctx context.Context, store hookd.Store, ref string) (*hookd.APIKey, error) {
	prefix, id := ref, ref
	if p, ok := strings.CutPrefix(ref, "prefix:"); ok {
		prefix, id = p, ""
	} else if i, ok := strings.CutPrefix(ref, "id:"); ok {
		prefix, id = "", i
	}
	var byPrefix, byID *hookd.APIKey
	if prefix != "" {
		k, err := store.APIKeyByPrefix(ctx, prefix)
		if err != nil && !errors.Is(err, hookd.ErrNotFound) {
			return nil, err
		}
		byPrefix = k
	}
	if n, err := strconv.ParseInt(id, 10, 64); err == nil {
		keys, err := store.ListAPIKeys(ctx, hookd.DefaultUserID)
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			if k.ID == n {
				byID = k
			}
		}
	}
	switch {
	case byPrefix != nil && byID != nil && byPrefix.ID != byID.ID:
		return nil, fmt.Errorf("%q is the prefix of key %d and the id of key %d (prefix %s): write prefix:%s or id:%s",
			ref, byPrefix.ID, byID.ID, byID.Prefix, ref, ref)
	case byPrefix != nil:
		return byPrefix, nil
	case byID != nil:
		return byID, nil
	}
	return nil, fmt.Errorf("no API key has the prefix or id %q (hookd keys list shows them)", ref)
}

// bootstrapAdminKey registers the admin key of --admin-api-key
// (HOOKD_ADMIN_API_KEY) unless it is stored already, so that an install can
// be scripted, and revokes the keys it replaced: every other key named
// hookd.BootstrapKeyName, one with the same prefix and another secret too.
// Without the setting, the key registered last stays. A prefix that another
// kind of key has is an error: that key is not the operator's to replace.
func bootstrapAdminKey(ctx context.Context, store hookd.Store, key, setting string, logger *slog.Logger) error {
	if key == "" {
		keys, err := store.ListAPIKeys(ctx, hookd.DefaultUserID)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(keys, func(k *hookd.APIKey) bool { return k.Role == hookd.RoleAdmin }) {
			logger.Warn("no admin API key yet: set --admin-api-key (or HOOKD_ADMIN_API_KEY) to a <prefix>.<secret> of your choosing, or create one with: hookd keys create --name NAME --admin")
		}
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
		return fmt.Errorf("%s: its prefix %q is the prefix of key %d (%q), which hookd did not register from this setting: choose another prefix",
			setting, prefix, existing.ID, existing.Name)
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
		logger.Info("registered the admin key of "+setting, "key_prefix", prefix)
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
	logger.Info("revoked the admin key that --admin-api-key (HOOKD_ADMIN_API_KEY) replaced", "key_prefix", k.Prefix, "key_id", k.ID)
	return nil
}
