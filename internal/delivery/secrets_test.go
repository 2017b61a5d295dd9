package delivery

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

// A header stored before its name was reserved (here hop-by-hop ones, which
// Go's HTTP/2 client refuses, quoting the value in its error) is not sent:
// the attempt succeeds, and its log entry and the process log name the
// header but never show its value.
func TestSendLeavesOutReservedHeadersStoredBefore(t *testing.T) {
	var got http.Header
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	s := NewSender(SenderConfig{Timeout: 5 * time.Second, AllowPrivate: loopback,
		TLSConfig: &tls.Config{RootCAs: srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}})
	tg := testTarget(srv.URL)
	tg.Headers = []hookd.Header{
		{Key: "Upgrade", Value: "upgrade-s3cret", Hidden: true},
		{Key: "connection", Value: "connection-s3cret"},
		{Key: "Proxy-Authorization", Value: "Basic proxy-s3cret", Hidden: true},
		{Key: "X-Kept", Value: "kept"},
	}
	r, logged := attemptLogged(s, context.Background(), tg, testDelivery())
	if !r.Success || r.Error != "" {
		t.Fatalf("result %+v", r)
	}
	for _, name := range []string{"Upgrade", "Connection", "Proxy-Authorization"} {
		if v := got.Values(name); len(v) > 0 {
			t.Errorf("%s sent: %q", name, v)
		}
	}
	if got.Get("X-Kept") != "kept" {
		t.Errorf("X-Kept = %q", got.Get("X-Kept"))
	}
	for _, name := range []string{"Upgrade", "connection", "Proxy-Authorization"} {
		if r.RequestHeaders[name] != NotSent {
			t.Errorf("RequestHeaders[%s] = %q, want %q", name, r.RequestHeaders[name], NotSent)
		}
	}
	if !strings.Contains(logged, "level=INFO") || !strings.Contains(logged, "reserved_headers_not_sent=\"[Upgrade connection Proxy-Authorization]\"") {
		t.Errorf("the log does not name the headers left out:\n%s", logged)
	}
	for _, shown := range append([]string{r.Error, logged}, valuesOf(r.RequestHeaders)...) {
		if strings.Contains(shown, "s3cret") {
			t.Errorf("a header value is shown: %q", shown)
		}
	}
}

// A Go client error that quotes a header value (here, a receiver that
// answers with the request's own header values as its status line) shows
// Masked in its place, in the attempt's error and in the process log: a
// hidden value or an HMAC wherever it appears, escaped by Go (the quote) or
// not, a plain value where it is quoted whole.
func TestSendMasksHeaderValuesInErrors(t *testing.T) {
	rr := newRawReceiver(t, "127.0.0.1:0", func(c net.Conn) {
		req, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			return
		}
		line := req.Header.Get("X-Plain")
		if line == "" {
			line = req.Header.Get("Authorization") + "|" + req.Header.Get("X-Sig")
		}
		io.WriteString(c, line+"\r\n\r\n")
	})
	for _, tc := range []struct {
		name    string
		headers []hookd.Header
		want    string
	}{
		{"hidden and hmac", []hookd.Header{
			{Key: "Authorization", Value: `Bearer-s3cret"token`, Hidden: true},
			{Key: "X-Sig", Value: "hmac-key", IsHMAC: true},
		}, `malformed HTTP response "` + Masked + "|" + Masked + `"`},
		{"plain", []hookd.Header{{Key: "X-Plain", Value: `plain-s3cret"token`}}, `malformed HTTP response "` + Masked + `"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tg := testTarget(rr.URL())
			tg.Headers = tc.headers
			r, logged := attemptLogged(testSender(5*time.Second), context.Background(), tg, testDelivery())
			if r.Success || r.ErrorClass != hookd.ClassConnection || !strings.HasSuffix(r.Error, tc.want) {
				t.Fatalf("result %+v\nwant an error ending in %s", r, tc.want)
			}
			for _, shown := range []string{r.Error, logged} {
				if strings.Contains(shown, "s3cret") || strings.Contains(shown, HMACHex("hmac-key", Body(&testDelivery().Event, 5))) {
					t.Errorf("a header value is shown: %q", shown)
				}
			}
		})
	}
}

func valuesOf(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// A receiver that echoes the request (a debugging endpoint, a framework's
// error page) does not put the hidden values, their HMAC or the signature
// into the log's response body, even where the logged body's cut falls
// inside one; plain values stay.
func TestSendMasksHeaderValuesInResponseBodies(t *testing.T) {
	var pad int
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, strings.Repeat(".", pad))
		r.Header.Write(w)
	})
	tg := testTarget(rc.URL)
	tg.Headers = []hookd.Header{
		{Key: "Authorization", Value: "Bearer s3cret-token-of-some-length", Hidden: true},
		{Key: "X-Sig", Value: "hmac-key", IsHMAC: true},
		{Key: "X-Plain", Value: "plain-value"},
	}
	hmac := HMACHex("hmac-key", Body(&testDelivery().Event, 5))
	r := attemptOnce(testSender(5*time.Second), context.Background(), tg, testDelivery())
	for _, secret := range []string{"s3cret", hmac, "v1,"} {
		if strings.Contains(r.ResponseBody, secret) {
			t.Errorf("the logged body shows %q:\n%s", secret, r.ResponseBody)
		}
	}
	if !strings.Contains(r.ResponseBody, "Authorization: "+Masked) || !strings.Contains(r.ResponseBody, "plain-value") {
		t.Errorf("the logged body, masked: %s", r.ResponseBody)
	}
	// The cut at MaxLoggedBody falls 10 bytes into the hidden value.
	pad = hookd.MaxLoggedBody - len("Authorization: Bearer s3cre")
	r = attemptOnce(testSender(5*time.Second), context.Background(), tg, testDelivery())
	if len(r.ResponseBody) < hookd.MaxLoggedBody-len("Bearer s3cre") || strings.Contains(r.ResponseBody, "s3cre") ||
		!strings.HasSuffix(r.ResponseBody, "Authorization: "+Masked) {
		t.Errorf("the end of a body cut inside a hidden value: %q", r.ResponseBody[max(0, len(r.ResponseBody)-60):])
	}
}

// A receiver that echoes the request's headers as JSON, or in a query,
// shows a hidden value escaped: it is masked in those forms too.
func TestSendMasksEscapedEchoes(t *testing.T) {
	const secret = "s3cret<&> token+/="
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]string{"authorization": r.Header.Get("Authorization")})
		io.WriteString(w, "?auth="+url.QueryEscape(r.Header.Get("Authorization"))+" /"+url.PathEscape(r.Header.Get("Authorization")))
	})
	tg := testTarget(rc.URL)
	tg.Headers = []hookd.Header{{Key: "Authorization", Value: secret, Hidden: true}}
	r := attemptOnce(testSender(5*time.Second), context.Background(), tg, testDelivery())
	if strings.Contains(r.ResponseBody, "s3cret") || strings.Count(r.ResponseBody, Masked) != 3 {
		t.Errorf("the logged body: %s", r.ResponseBody)
	}
}
