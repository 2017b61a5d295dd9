package delivery

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
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

// A mask is longer than a short hidden value: a receiver that answers
// with nothing but echoes of it does not make the logged body outgrow its
// bound.
func TestSendMaskedBodyStaysWithinItsBound(t *testing.T) {
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Repeat("7", 2*hookd.MaxLoggedBody))
	})
	tg := testTarget(rc.URL)
	tg.Headers = []hookd.Header{{Key: "X-Token", Value: "7", Hidden: true}}
	r := attemptOnce(testSender(5*time.Second), context.Background(), tg, testDelivery())
	if len(r.ResponseBody) > hookd.MaxLoggedBody || strings.Contains(r.ResponseBody, "7") {
		t.Fatalf("the logged body: %d bytes, want at most %d, all masked: %q…", len(r.ResponseBody), hookd.MaxLoggedBody,
			r.ResponseBody[:min(40, len(r.ResponseBody))])
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

// secretChars returns the characters of enc's encoding of pre+secret+post
// that hold the secret's bits only: each holds 6 bits, from 8·len(pre) on.
func secretChars(enc *base64.Encoding, pre, secret, post string) string {
	encoded := enc.EncodeToString([]byte(pre + secret + post))
	return encoded[(8*len(pre)+5)/6 : 8*(len(pre)+len(secret))/6]
}

// A secret echoed in base64, in either alphabet, padded or not, alone or
// inside a longer encoded text at any byte offset, is masked: one Masked
// replaces every character that holds the secret's bits only, and nothing
// outside the encoded text.
func TestMaskBase64Echoes(t *testing.T) {
	const secret = "Bearer s3cret-token?>~" // "?>~" encodes to "/" and "+"
	echoes := secretEchoes([]string{secret})
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		for _, pre := range []string{"", "u", "us", "user:", "user:x", "user:xy"} {
			for _, post := range []string{"", "!", "!!", "!!!!"} {
				encoded := enc.EncodeToString([]byte(pre + secret + post))
				msg := "echo=" + encoded + ";"
				masked := maskValues(msg, echoes, nil)
				start := len("echo=") + strings.Index(encoded, secretChars(enc, pre, secret, post))
				end := start + len(secretChars(enc, pre, secret, post))
				before, after, ok := strings.Cut(masked, Masked)
				if !ok || strings.Contains(after, Masked) || len(before) > start || len(msg)-len(after) < end ||
					!strings.HasPrefix(msg, before) || !strings.HasSuffix(msg, after) || !strings.HasPrefix(before, "echo=") || !strings.HasSuffix(after, ";") {
					t.Errorf("%q encoded: %s\nmasked: %s", pre+secret+post, msg, masked)
				}
			}
		}
	}
	// The echo of the value alone is masked whole, its padding with it.
	if got := maskValues("<"+base64.StdEncoding.EncodeToString([]byte(secret+"x"))+">", secretEchoes([]string{secret + "x"}), nil); got != "<"+Masked+">" {
		t.Errorf("a padded echo, masked: %s", got)
	}
}

// A short secret's inner base64 forms are a few characters that any text
// holds by chance: they are not masked (its whole forms are).
func TestMaskShortSecretInnerBase64(t *testing.T) {
	echoes := secretEchoes([]string{"abc"})
	// "FiY" and "hYm" hold only bits of "abc" inside longer base64 texts.
	if msg := "a FiY, a hYm"; maskValues(msg, echoes, nil) != msg {
		t.Errorf("masked: %s", maskValues(msg, echoes, nil))
	}
	if got := maskValues("<YWJj>", echoes, nil); got != "<"+Masked+">" {
		t.Errorf("the whole echo, masked: %s", got)
	}
}

// maskCutEcho finds the longest start of an echo that a cut body ends
// with, also where the echo repeats itself (the matching falls back rather
// than starting over), and nothing where none is there or where the start
// is too short to be told from chance.
func TestMaskCutEcho(t *testing.T) {
	for _, tc := range []struct {
		body   string
		echoes []string
		want   string
	}{
		{"...Authorization: Bearer s3cre", []string{"Bearer s3cret"}, "...Authorization: " + Masked},
		{"x aabaabaa", []string{"aabaabaab"}, "x " + Masked},
		{"x aaaab", []string{"aaab"}, "x aaaab"}, // a whole one is maskValues's
		{"x aaaa", []string{"aaaab", "aa"}, "x " + Masked},
		{"x abcde", []string{"bcdef", "abcdef"}, "x " + Masked},
		{"x Bea", []string{"Bearer s3cret"}, "x Bea"}, // a start under minCutEcho: chance
		{"x hunter2", []string{"hunter22"}, "x " + Masked},
		{"nothing here", []string{"secret"}, "nothing here"},
		{"s", []string{"s"}, "s"}, // a one-byte echo has no proper start
	} {
		if got := maskCutEcho(tc.body, tc.echoes); got != tc.want {
			t.Errorf("maskCutEcho(%q, %q) = %q, want %q", tc.body, tc.echoes, got, tc.want)
		}
	}
}

// A receiver that echoes in base64 a hidden header value (alone, or inside
// an encoded "user:value" or JSON document) or the webhook's signing secret
// (which it holds to verify) does not put them into the log, nor does a
// cut at MaxLoggedBody inside such an echo.
func TestSendMasksBase64Echoes(t *testing.T) {
	const hidden = "Bearer s3cret-token-of-some-length"
	key := strings.TrimPrefix(vectorSecret, SecretPrefix)
	echoes := []struct {
		enc       *base64.Encoding
		pre, post string // around the secret
		secret    string
	}{
		{base64.StdEncoding, "", "", hidden},
		{base64.RawURLEncoding, "", "", hidden},
		{base64.StdEncoding, "user:", "", hidden},                // at offset 2 (mod 3)
		{base64.URLEncoding, `{"authz":"`, `"}`, hidden},         // at offset 1
		{base64.RawStdEncoding, `{"auth":"`, `","x":1}`, hidden}, // at offset 0
		{base64.StdEncoding, SecretPrefix, "", key},              // the signing secret
		{base64.StdEncoding, "", "", key},
	}
	echoLine := func(auth string) string {
		var b strings.Builder
		for _, e := range echoes {
			secret := key
			if e.secret == hidden {
				secret = auth
			}
			b.WriteString(e.enc.EncodeToString([]byte(e.pre+secret+e.post)) + " ")
		}
		return b.String() + "key=" + key + "\n"
	}
	var pad int
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		auth := r.Header.Get("Authorization")
		io.WriteString(w, echoLine(auth)+strings.Repeat(".", pad)+base64.StdEncoding.EncodeToString([]byte(auth)))
	})
	tg := testTarget(rc.URL)
	tg.Headers = []hookd.Header{{Key: "Authorization", Value: hidden, Hidden: true}}
	// shown returns 8 characters of body that hold a secret's bits only.
	shown := func(body string) string {
		for _, e := range echoes {
			chars := secretChars(e.enc, e.pre, e.secret, e.post)
			for i := 0; i+8 <= len(chars); i++ {
				if strings.Contains(body, chars[i:i+8]) {
					return chars[i : i+8]
				}
			}
		}
		return ""
	}
	r := attemptOnce(testSender(5*time.Second), context.Background(), tg, testDelivery())
	if s := shown(r.ResponseBody); s != "" || strings.Contains(r.ResponseBody, key) || strings.Count(r.ResponseBody, Masked) != len(echoes)+2 {
		t.Errorf("the logged body shows %q:\n%s", s, r.ResponseBody)
	}
	// The cut at MaxLoggedBody falls 20 characters into the last echo.
	pad = hookd.MaxLoggedBody - len(echoLine(hidden)) - 20
	r = attemptOnce(testSender(5*time.Second), context.Background(), tg, testDelivery())
	if s := shown(r.ResponseBody); s != "" || !strings.HasSuffix(r.ResponseBody, "."+Masked) {
		t.Errorf("the end of a body cut inside a base64 echo shows %q: %q", s, r.ResponseBody[max(0, len(r.ResponseBody)-60):])
	}
}
