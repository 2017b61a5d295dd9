package hookd

import (
	"strings"
	"testing"
)

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
		"p." + strings.Repeat("s", MaxSecretLength+1)} {
		if _, _, parsed := ParseAPIKey(bad); parsed {
			t.Errorf("ParseAPIKey(%.40q) accepted", bad)
		}
	}
}
