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
