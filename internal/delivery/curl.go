package delivery

import (
	"net/http"
	"slices"
	"strings"
)

// SignaturePlaceholder stands for the webhook-signature in a curl command:
// the signature is computed with the signing secret, which a command that
// people copy and paste must not carry.
const SignaturePlaceholder = "v1,<signature: computed with the signing secret>"

// Curl is a shell command that sends the request an attempt sent: method
// and URL, the headers as the log shows them (RequestHeaders: secret values
// already Masked) but for the signature (SignaturePlaceholder), the headers
// that were not sent and the attempt's trace context, and body. Every
// value is quoted for a POSIX shell, so no name, URL or payload can run a
// command of its own.
func Curl(method, url string, shown map[string]string, body []byte) string {
	var b strings.Builder
	b.WriteString("curl -X ")
	b.WriteString(shellQuote(method))
	b.WriteString(" ")
	b.WriteString(shellQuote(url))
	names := make([]string, 0, len(shown))
	for name, value := range shown {
		switch http.CanonicalHeaderKey(name) {
		case "Traceparent", "Tracestate":
			continue
		}
		if value == NotSent {
			continue
		}
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	for _, name := range names {
		value := shown[name]
		if strings.EqualFold(name, HeaderWebhookSignature) {
			value = SignaturePlaceholder
		}
		b.WriteString(" \\\n  -H ")
		b.WriteString(shellQuote(name + ": " + value))
	}
	b.WriteString(" \\\n  --data-raw ")
	b.WriteString(shellQuote(string(body)))
	return b.String()
}

// shellQuote quotes s for a POSIX shell: inside single quotes nothing is
// special but the single quote itself, which closes the quotes, goes as an
// escaped quote and opens them again.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
