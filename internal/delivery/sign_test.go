package delivery

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// The published test vector of the Standard Webhooks libraries
// (libraries/go/webhook_test.go, TestWebhookSign).
const (
	vectorSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorMsgID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTimestamp = 1614265330
	vectorPayload   = `{"test": 2432232314}`
	vectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestSignTestVector(t *testing.T) {
	got := Sign([]string{vectorSecret}, vectorMsgID, time.Unix(vectorTimestamp, 0), []byte(vectorPayload))
	if got != vectorSignature {
		t.Fatalf("Sign = %q, want %q", got, vectorSignature)
	}
	// The prefix is optional, as in the libraries.
	got = Sign([]string{strings.TrimPrefix(vectorSecret, "whsec_")}, vectorMsgID, time.Unix(vectorTimestamp, 0), []byte(vectorPayload))
	if got != vectorSignature {
		t.Fatalf("Sign without prefix = %q, want %q", got, vectorSignature)
	}
}

func TestSignVerifiesWithLibrary(t *testing.T) {
	secrets := []string{
		"whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD", // current
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", // rotated, still valid
	}
	now := time.Now()
	body := []byte(`{"id":"evt_1","data":{"a":"é\n"}}`)
	sig := Sign(secrets, "msg_abc", now, body)
	parts := strings.Split(sig, " ")
	if len(parts) != 2 || !strings.HasPrefix(parts[0], "v1,") || !strings.HasPrefix(parts[1], "v1,") {
		t.Fatalf("signature %q: want two space-separated v1 signatures", sig)
	}
	h := http.Header{}
	h.Set("webhook-id", "msg_abc")
	h.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	h.Set("webhook-signature", sig)
	for _, s := range secrets {
		wh, err := standardwebhooks.NewWebhook(s)
		if err != nil {
			t.Fatal(err)
		}
		if err := wh.Verify(body, h); err != nil {
			t.Errorf("secret %s: %v", s[:10], err)
		}
	}
	other, _ := standardwebhooks.NewWebhook("whsec_" + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	if err := other.Verify(body, h); err == nil {
		t.Error("a foreign secret verified the signature")
	}
	if err := mustWebhook(t, secrets[0]).Verify(append(body, ' '), h); err == nil {
		t.Error("a changed body verified")
	}
}

func TestSignSkipsUndecodableSecrets(t *testing.T) {
	got := Sign([]string{"whsec_not base64!", vectorSecret}, vectorMsgID, time.Unix(vectorTimestamp, 0), []byte(vectorPayload))
	if got != vectorSignature {
		t.Fatalf("Sign = %q, want only the valid secret's %q", got, vectorSignature)
	}
	if got := Sign([]string{"whsec_%%%"}, "m", time.Now(), nil); got != "" {
		t.Fatalf("Sign with no valid secret = %q, want empty", got)
	}
	if got := Sign(nil, "m", time.Now(), nil); got != "" {
		t.Fatalf("Sign with no secret = %q, want empty", got)
	}
}

func TestHMACHex(t *testing.T) {
	// RFC 4231, test case 2.
	got := HMACHex("Jefe", []byte("what do ya want for nothing?"))
	want := "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
	if got != want {
		t.Fatalf("HMACHex = %s, want %s", got, want)
	}
}

func mustWebhook(t *testing.T, secret string) *standardwebhooks.Webhook {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	return wh
}

func BenchmarkSign(b *testing.B) {
	body := make([]byte, 1024)
	secrets := []string{vectorSecret}
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		Sign(secrets, vectorMsgID, now, body)
	}
}
