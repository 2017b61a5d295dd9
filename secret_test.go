package hookd

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSigningSecrets(t *testing.T) {
	until := time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)
	s := SigningSecrets{Current: "whsec_a"}.Rotate("whsec_b", until.Add(400*time.Microsecond))
	if s.Current != "whsec_b" || s.Previous != "whsec_a" || !s.PreviousValidUntil.Equal(until) {
		t.Fatalf("Rotate = %+v", s)
	}
	for _, c := range []struct {
		at   time.Time
		want []string
	}{
		{until.Add(-time.Millisecond), []string{"whsec_b", "whsec_a"}},
		{until.Add(-time.Nanosecond), []string{"whsec_b", "whsec_a"}},
		{until, []string{"whsec_b"}}, // valid up to, not including, until
		{until.Add(time.Millisecond), []string{"whsec_b"}},
	} {
		if got := s.ValidAt(c.at); !slices.Equal(got, c.want) {
			t.Errorf("ValidAt(%v) = %v, want %v", c.at, got, c.want)
		}
	}
	if got := (SigningSecrets{Current: "whsec_a"}).ValidAt(until); !slices.Equal(got, []string{"whsec_a"}) {
		t.Errorf("ValidAt without a rotation = %v", got)
	}

	again := s.Rotate("", until.Add(time.Hour))
	if !strings.HasPrefix(again.Current, "whsec_") || again.Current == "whsec_b" || again.Previous != "whsec_b" {
		t.Errorf("a rotation during a rotation = %+v, want a new secret and whsec_b beside it", again)
	}
}

// Signing secrets change by themselves only when a rotated one stops
// signing.
func TestSigningSecretsChangeAt(t *testing.T) {
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	end := now.Add(time.Hour)
	rotated := SigningSecrets{Current: "new", Previous: "old", PreviousValidUntil: end}
	if got := rotated.ChangeAt(now); !got.Equal(end) {
		t.Errorf("ChangeAt while the previous signs = %v, want %v", got, end)
	}
	if got := rotated.ChangeAt(end); !got.IsZero() {
		t.Errorf("ChangeAt once it stopped = %v, want zero", got)
	}
	if got := (SigningSecrets{Current: "only"}).ChangeAt(now); !got.IsZero() {
		t.Errorf("ChangeAt with one secret = %v, want zero", got)
	}
}
