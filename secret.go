package hookd

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"time"
)

// SigningSecretGrace is how long a rotated signing secret keeps signing
// deliveries beside the new one, so receivers can switch without a gap.
const SigningSecretGrace = 24 * time.Hour

// SigningSecrets are a webhook's signing secrets: the current one and, for
// a while after a rotation, the previous one beside it.
type SigningSecrets struct {
	Current  string
	Previous string // "" when there is none
	// PreviousValidUntil is when the previous secret stops signing: it
	// signs up to, not including, this time.
	PreviousValidUntil time.Time
}

// ValidAt returns the secrets that sign a delivery at now: the current one
// first, then the previous one while now is before PreviousValidUntil.
func (s SigningSecrets) ValidAt(now time.Time) []string {
	out := []string{s.Current}
	if s.Previous != "" && now.Before(s.PreviousValidUntil) {
		out = append(out, s.Previous)
	}
	return out
}

// ChangeAt is when the secrets that sign at now (ValidAt) change by
// themselves: the end of the previous secret while it signs; zero when
// they never do.
func (s SigningSecrets) ChangeAt(now time.Time) time.Time {
	if s.Previous != "" && now.Before(s.PreviousValidUntil) {
		return s.PreviousValidUntil
	}
	return time.Time{}
}

// Rotate returns s with secret (a new one when empty) as the current
// secret and the current one signing beside it until validUntil (at stored
// precision). A rotation during a rotation drops the oldest secret: only
// two are ever valid.
func (s SigningSecrets) Rotate(secret string, validUntil time.Time) SigningSecrets {
	if secret == "" {
		secret = NewSigningSecret()
	}
	return SigningSecrets{Current: secret, Previous: s.Current, PreviousValidUntil: validUntil.UTC().Truncate(time.Millisecond)}
}

// NewSigningSecret returns a Standard Webhooks secret: "whsec_" and the
// base64 of 24 random bytes.
func NewSigningSecret() string {
	var b [24]byte
	rand.Read(b[:])
	return "whsec_" + base64.StdEncoding.EncodeToString(b[:])
}

// NewMessageID returns a webhook-id for a new delivery.
func NewMessageID() string { return "msg_" + randomID() }

// NewEventID returns an id for an event published without one.
func NewEventID() string { return "evt_" + randomID() }

// randomID is 12 random bytes in unpadded base64url, prefixed with the time
// in hex so ids sort roughly by creation.
func randomID() string {
	var b [12]byte
	rand.Read(b[:])
	return fmt.Sprintf("%011x", time.Now().UnixMilli()) + base64.RawURLEncoding.EncodeToString(b[:])
}
