package hookd

import "testing"

func TestIsReservedHeader(t *testing.T) {
	for _, name := range []string{
		"Content-Type", "content-length", "HOST", "Connection", "Transfer-Encoding", "User-Agent",
		"webhook-id", "Webhook-Timestamp", "webhook-signature", "traceparent", "Tracestate",
		"Upgrade", "upgrade", "TE", "te", "Trailer", "Keep-Alive",
		"Proxy-Authorization", "proxy-connection", "PROXY-anything", "Proxy-",
	} {
		if !IsReservedHeader(name) {
			t.Errorf("%s is not reserved", name)
		}
	}
	for _, name := range []string{"Authorization", "X-Signature", "Proxy", "X-Proxy-Token", "Tea", "Upgrades", "Webhook-Token", ""} {
		if IsReservedHeader(name) {
			t.Errorf("%s is reserved", name)
		}
	}
}
