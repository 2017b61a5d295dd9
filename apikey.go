package hookd

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// APIKey authenticates a caller. The key a caller holds is
// "<prefix>.<secret>"; hookd stores the prefix to find the key and only the
// SHA-256 of the secret (the secret is 32 random bytes, so a fast hash is
// safe).
type APIKey struct {
	ID         int64
	UserID     int64
	Prefix     string
	SecretHash []byte
	Name       string
	Role       string
	CreatedAt  time.Time
	LastAccess *time.Time
}

// DefaultUserID owns the keys made outside the API (CLI, bootstrap).
// hookd has no user accounts; a key's user groups the keys that
// /api/v2/user/api_keys lists.
const DefaultUserID = 1

const keyPrefixAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// NewAPIKey makes a key and returns it with the plaintext "<prefix>.<secret>"
// that is shown to its owner once.
func NewAPIKey(userID int64, name, role string) (*APIKey, string) {
	var b [5]byte
	rand.Read(b[:])
	prefix := make([]byte, len(b))
	for i, c := range b {
		prefix[i] = keyPrefixAlphabet[int(c)%len(keyPrefixAlphabet)]
	}
	var s [32]byte
	rand.Read(s[:])
	secret := base64.RawURLEncoding.EncodeToString(s[:])
	k := &APIKey{UserID: userID, Prefix: string(prefix), SecretHash: HashSecret(secret), Name: name, Role: role}
	return k, k.Prefix + "." + secret
}

// MaxPrefixLength and MaxSecretLength bound the parts of a key hookd
// accepts. Issued keys have 5 and 43 characters; a key of one's own
// (HOOKD_ADMIN_API_KEY) may be longer, up to these, and anything longer is
// refused before it is looked up or hashed, so checking a key is cheap
// whatever a caller sends.
const (
	MaxPrefixLength = 32
	MaxSecretLength = 256
)

// ParseAPIKey splits "<prefix>.<secret>". A prefix that is not valid UTF-8
// is refused: no stored key has one, and PostgreSQL fails a lookup of it
// with an error instead of not finding it.
func ParseAPIKey(s string) (prefix, secret string, ok bool) {
	prefix, secret, ok = strings.Cut(s, ".")
	if !ok || prefix == "" || secret == "" || len(prefix) > MaxPrefixLength || len(secret) > MaxSecretLength ||
		!utf8.ValidString(prefix) {
		return "", "", false
	}
	return prefix, secret, true
}

// BootstrapKeyName names the admin key that hookd registers from
// --admin-api-key (HOOKD_ADMIN_API_KEY). hookd finds the keys that a new
// value replaced by this name, to revoke them, so no other key may have it.
const BootstrapKeyName = "bootstrap (HOOKD_ADMIN_API_KEY)"

// ErrReservedKeyName is the error of making a key named BootstrapKeyName.
var ErrReservedKeyName = errors.New("the name " + strconv.Quote(BootstrapKeyName) + " is reserved for the key hookd registers from HOOKD_ADMIN_API_KEY")

// MinBootstrapSecret is the length, in bytes, that the secret of a chosen
// admin key must have at least: the keys hookd makes have 43 characters.
const MinBootstrapSecret = 24

// BootstrapKeyFormat describes the admin key an operator may choose.
const BootstrapKeyFormat = "<prefix>.<secret>: a prefix of 1 to 32 characters without a dot, and a secret of 24 to 256 characters (e.g. admin.$(openssl rand -hex 24))"

// ParseBootstrapKey splits an admin key chosen by an operator, which must
// have a secret of at least MinBootstrapSecret bytes. Its error says what
// the key must look like, and never shows the key.
func ParseBootstrapKey(s string) (prefix, secret string, err error) {
	prefix, secret, ok := ParseAPIKey(s)
	switch {
	case !ok:
		return "", "", errors.New("use the form " + BootstrapKeyFormat)
	case len(secret) < MinBootstrapSecret:
		return "", "", errors.New("its secret is too short to be safe: use " + BootstrapKeyFormat)
	}
	return prefix, secret, nil
}

// HashSecret is the stored form of a key's secret.
func HashSecret(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

// Verify compares secret with the stored hash in constant time.
func (k *APIKey) Verify(secret string) bool {
	return subtle.ConstantTimeCompare(HashSecret(secret), k.SecretHash) == 1
}

// IssueAPIKey creates a key in store and returns the plaintext to show its
// owner once. The name may not be BootstrapKeyName (ErrReservedKeyName).
func IssueAPIKey(ctx context.Context, store Store, userID int64, name, role string) (string, error) {
	if name == BootstrapKeyName {
		return "", ErrReservedKeyName
	}
	for {
		k, plaintext := NewAPIKey(userID, name, role)
		err := store.CreateAPIKey(ctx, k)
		if errors.Is(err, ErrConflict) {
			continue // the random prefix is taken: draw another
		}
		if err != nil {
			return "", err
		}
		return plaintext, nil
	}
}
