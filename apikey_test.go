package hookd

import (
	"strings"
	"testing"
)

func TestParseBootstrapKey(t *testing.T) {
	prefix, secret, err := ParseBootstrapKey("admin.0123456789abcdef01234567")
	if err != nil || prefix != "admin" || secret != "0123456789abcdef01234567" {
		t.Errorf("a 24-character secret: %q %q %v", prefix, secret, err)
	}
	for key, want := range map[string]string{
		"k.x":                               "its secret is too short to be safe: use <prefix>.<secret>: a prefix of 1 to 32 characters without a dot, and a secret of 24 to 256 characters",
		"admin.0123456789abcdef0123456":     "its secret is too short to be safe",
		"no-dot-0123456789abcdef0123456789": "use the form <prefix>.<secret>",
		".0123456789abcdef0123456789":       "use the form",
		strings.Repeat("p", 33) + ".0123456789abcdef0123456789": "use the form",
	} {
		_, _, err := ParseBootstrapKey(key)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", key, err, want)
		}
		if err != nil && strings.Contains(err.Error(), key) {
			t.Errorf("%s: the error shows the key: %v", key, err)
		}
	}
}

// Keys are split at the first dot; parts out of bounds are refused, so a
// caller cannot make hookd look up or hash what it likes.
func TestParseAPIKey(t *testing.T) {
	_, issued := NewAPIKey(DefaultUserID, "k", RolePublisher)
	longest := strings.Repeat("p", MaxPrefixLength) + "." + strings.Repeat("s", MaxSecretLength)
	for _, ok := range []string{issued, "admin.change-me", "a.b.c", longest} {
		if _, _, parsed := ParseAPIKey(ok); !parsed {
			t.Errorf("ParseAPIKey(%.40q) refused", ok)
		}
	}
	for _, bad := range []string{"", "nodot", ".secret", "prefix.",
		strings.Repeat("p", MaxPrefixLength+1) + ".s",
		"p." + strings.Repeat("s", MaxSecretLength+1), "\xff.secret"} {
		if _, _, parsed := ParseAPIKey(bad); parsed {
			t.Errorf("ParseAPIKey(%.40q) accepted", bad)
		}
	}
}
