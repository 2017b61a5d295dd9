package delivery_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/hookd/hookd/internal/delivery"
)

// TestCurl checks the command against a real shell: hostile values stay
// data, the signature and the attempt's trace are left out, and what the
// shell passes to curl is exactly the request's parts.
func TestCurl(t *testing.T) {
	body := `{"id":"e'1","data":{"x":"$(touch /tmp/pwned) ` + "`id`" + ` \n"}}`
	cmd := delivery.Curl("POST", "https://r.example/hook?a=1&b='2'", map[string]string{
		"Content-Type":                  "application/json",
		delivery.HeaderWebhookID:        "msg_1",
		delivery.HeaderWebhookSignature: "v1,realsignature",
		"X-Token":                       delivery.Masked,
		"X-Old":                         delivery.NotSent,
		"Traceparent":                   "00-abc-def-01",
		"X-Quote":                       `it's "quoted"; rm -rf /`,
	}, []byte(body))
	if strings.Contains(cmd, "realsignature") || strings.Contains(cmd, "00-abc") || strings.Contains(cmd, "X-Old") {
		t.Fatalf("the command carries what it must not:\n%s", cmd)
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	// A function named curl prints its arguments one a line, as the shell
	// split them.
	out, err := exec.Command(sh, "-c", `curl() { for a in "$@"; do printf '%s\n--\n' "$a"; done; }; `+cmd).Output()
	if err != nil {
		t.Fatalf("sh: %v\n%s", err, cmd)
	}
	args := strings.Split(strings.TrimSuffix(string(out), "\n--\n"), "\n--\n")
	want := []string{"-X", "POST", "https://r.example/hook?a=1&b='2'",
		"-H", "Content-Type: application/json",
		"-H", "webhook-id: msg_1",
		"-H", "webhook-signature: " + delivery.SignaturePlaceholder,
		"-H", `X-Quote: it's "quoted"; rm -rf /`,
		"-H", "X-Token: " + delivery.Masked,
		"--data-raw", body}
	if strings.Join(args, "|") != strings.Join(want, "|") {
		t.Errorf("the shell passes\n%q\nwant\n%q", args, want)
	}
}
