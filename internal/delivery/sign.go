package delivery

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// SecretPrefix starts every Standard Webhooks signing secret.
const SecretPrefix = "whsec_"

// secretKey returns the HMAC key of a "whsec_<base64>" signing secret, as the
// Standard Webhooks libraries read it: the prefix is optional and the rest is
// standard, padded base64.
func secretKey(secret string) ([]byte, bool) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil || len(key) == 0 {
		return nil, false
	}
	return key, true
}

// Sign returns the webhook-signature header value of a message: one
// "v1,<base64 HMAC-SHA256>" per secret, space separated, each over
// "msgID.unixSeconds.body" keyed with the secret's decoded key. Secrets are
// Standard Webhooks secrets ("whsec_" and the base64 of the key); one that does
// not decode is skipped, so Sign returns "" when none does.
func Sign(secrets []string, msgID string, timestamp time.Time, body []byte) string {
	// The signed content, built once for every secret.
	content := make([]byte, 0, len(msgID)+1+20+1+len(body))
	content = append(content, msgID...)
	content = append(content, '.')
	content = strconv.AppendInt(content, timestamp.Unix(), 10)
	content = append(content, '.')
	content = append(content, body...)

	var out []byte
	var sum [sha256.Size]byte
	for _, s := range secrets {
		key, ok := secretKey(s)
		if !ok {
			continue
		}
		mac := hmac.New(sha256.New, key)
		mac.Write(content)
		if len(out) > 0 {
			out = append(out, ' ')
		}
		out = append(out, "v1,"...)
		out = base64.StdEncoding.AppendEncode(out, mac.Sum(sum[:0]))
	}
	return string(out)
}

// HMACHex returns the value of an is_hmac header: the lowercase hex
// HMAC-SHA256 of the raw body, keyed with the header's configured value (its
// bytes as they are, not decoded).
func HMACHex(key string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write(body)
	var sum [sha256.Size]byte
	return hex.EncodeToString(mac.Sum(sum[:0]))
}
