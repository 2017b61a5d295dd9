package delivery

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/clocktest"
)

var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}

// received is a request as a test receiver got it.
type received struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte
}

// receiver is an HTTP server on 127.0.0.1 that records requests and answers
// with handle (200 when nil).
type receiver struct {
	*httptest.Server
	mu   sync.Mutex
	got  []received
	hits chan received
}

func newReceiver(t *testing.T, handle http.HandlerFunc) *receiver {
	t.Helper()
	rc := &receiver{hits: make(chan received, 100)}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req := received{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body}
		rc.mu.Lock()
		rc.got = append(rc.got, req)
		rc.mu.Unlock()
		rc.hits <- req
		if handle != nil {
			handle(w, r)
		}
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

func testSender(timeout time.Duration) *Sender {
	return NewSender(SenderConfig{Timeout: timeout, AllowPrivate: loopback, Concurrency: 4})
}

// attemptOnce makes one attempt of d to t through the dispatcher's attempt
// path (s, then the default policy) and returns its result, which nothing
// records.
func attemptOnce(s *Sender, ctx context.Context, t *hookd.Target, d *hookd.Delivery) hookd.AttemptResult {
	r, _ := attemptLogged(s, ctx, t, d)
	return r
}

// attemptLogged is attemptOnce that also returns the dispatcher's log of
// the attempt, at debug level and above, as text.
func attemptLogged(s *Sender, ctx context.Context, t *hookd.Target, d *hookd.Delivery) (hookd.AttemptResult, string) {
	var log strings.Builder
	logger := slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	disp, err := New(Config{Store: newFakeStore(), Sender: s, Logger: logger})
	if err != nil {
		panic(err)
	}
	r, _ := disp.attempt(ctx, t, d)
	return r, log.String()
}

func testDelivery() *hookd.Delivery {
	return &hookd.Delivery{
		ID:        17,
		WebhookID: 5,
		MessageID: "msg_2bVz5tG1t0QXb1S0m0eT1rZf",
		Attempts:  0,
		Event: hookd.Event{
			ID:        "evt_abc",
			Event:     "ASSET_ADDED",
			ProjectID: ptr("GsrwPNm6nJ7CKRYnQZl6"),
			UserID:    ptr(int64(42)),
			Data:      json.RawMessage(`{"asset_id":7}`),
			CreatedAt: time.Date(2023, 11, 27, 9, 42, 39, 937_000_000, time.UTC),
		},
	}
}

func testTarget(url string) *hookd.Target {
	return &hookd.Target{
		WebhookID: 5,
		URL:       url,
		Method:    http.MethodPost,
		Secrets:   []string{vectorSecret},
	}
}

func TestSendSuccess(t *testing.T) {
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, "thanks")
	})
	s := testSender(5 * time.Second)
	tg := testTarget(rc.URL + "/hooks/in")
	tg.Method = http.MethodPut
	tg.Secrets = []string{"whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD", vectorSecret}
	tg.Headers = []hookd.Header{
		{Key: "test-key", Value: "test-value"},
		{Key: "X-Hidden", Value: "s3cret", Hidden: true},
		{Key: "X-Signature-HMAC", Value: "hmac-key", IsHMAC: true},
		{Key: "x-multi", Value: "a"},
		{Key: "X-Multi", Value: "b"},
		{Key: "content-type", Value: "text/plain"}, // reserved: not sent
		{Key: "Webhook-Id", Value: "spoof"},        // reserved: not sent
	}
	d := testDelivery()
	d.Attempts = 2
	before := time.Now()
	r := attemptOnce(s, context.Background(), tg, d)
	if !r.Success || r.HTTPStatus != 202 || r.ErrorClass != "" || r.Error != "" {
		t.Fatalf("result %+v", r)
	}
	if r.NextAttemptAt != nil || r.DisableWebhook {
		t.Fatalf("a success scheduled %v / disable %v", r.NextAttemptAt, r.DisableWebhook)
	}
	if r.DeliveryID != 17 || r.WebhookID != 5 || r.Attempt != 3 {
		t.Errorf("ids: %+v", r)
	}
	if r.At.Before(before.Add(-time.Second)) || r.At.Location() != time.UTC || r.Duration <= 0 {
		t.Errorf("At %v Duration %v", r.At, r.Duration)
	}
	if r.ResponseBody != "thanks" {
		t.Errorf("response body %q", r.ResponseBody)
	}

	reqs := rc.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	req := reqs[0]
	if req.Method != http.MethodPut || req.Path != "/hooks/in" {
		t.Errorf("%s %s", req.Method, req.Path)
	}
	wantBody := `{"id":"evt_abc","event":"ASSET_ADDED","created_at":"2023-11-27T09:42:39.937Z",` +
		`"project_id":"GsrwPNm6nJ7CKRYnQZl6","user_id":42,"webhook_id":5,"data":{"asset_id":7}}`
	if string(req.Body) != wantBody {
		t.Errorf("body\n got %s\nwant %s", req.Body, wantBody)
	}

	// Exactly these headers, beside the ones Go's client adds.
	ts, err := strconv.ParseInt(req.Header.Get("webhook-timestamp"), 10, 64)
	if err != nil || ts < before.Unix()-1 || ts > time.Now().Unix()+1 {
		t.Errorf("webhook-timestamp %q", req.Header.Get("webhook-timestamp"))
	}
	want := map[string][]string{
		"Content-Type":      {"application/json"},
		"User-Agent":        {"hookd/" + hookd.Version},
		"Webhook-Id":        {d.MessageID},
		"Webhook-Timestamp": {req.Header.Get("webhook-timestamp")},
		"Webhook-Signature": {Sign(tg.Secrets, d.MessageID, time.Unix(ts, 0), req.Body)},
		"Test-Key":          {"test-value"},
		"X-Hidden":          {"s3cret"},
		"X-Signature-Hmac":  {HMACHex("hmac-key", req.Body)},
		"X-Multi":           {"a", "b"},
		"Content-Length":    {strconv.Itoa(len(wantBody))},
	}
	for k, v := range want {
		if got := req.Header.Values(k); strings.Join(got, "|") != strings.Join(v, "|") {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	for k := range req.Header {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected header %s: %q", k, req.Header[k])
		}
	}
	// The is_hmac value is the lowercase hex HMAC-SHA256 of the raw body.
	if h := req.Header.Get("X-Signature-Hmac"); len(h) != 64 || strings.ToLower(h) != h {
		t.Errorf("is_hmac header %q", h)
	}

	// The official library verifies the signature with either secret.
	for _, sec := range tg.Secrets {
		if err := mustWebhook(t, sec).Verify(req.Body, req.Header); err != nil {
			t.Errorf("standardwebhooks.Verify with %s…: %v", sec[:10], err)
		}
	}

	// The logged headers mask every secret.
	wantShown := map[string]string{
		"Content-Type":      "application/json",
		"User-Agent":        "hookd/" + hookd.Version,
		"webhook-id":        d.MessageID,
		"webhook-timestamp": req.Header.Get("webhook-timestamp"),
		"webhook-signature": Masked,
		"test-key":          "test-value",
		"X-Hidden":          Masked,
		"X-Signature-HMAC":  Masked,
		"x-multi":           "a, b",
	}
	if len(r.RequestHeaders) != len(wantShown) {
		t.Errorf("RequestHeaders = %v, want %v", r.RequestHeaders, wantShown)
	}
	for k, v := range wantShown {
		if r.RequestHeaders[k] != v {
			t.Errorf("RequestHeaders[%s] = %q, want %q", k, r.RequestHeaders[k], v)
		}
	}
	for _, v := range r.RequestHeaders {
		if strings.Contains(v, "s3cret") || strings.Contains(v, "hmac-key") || strings.HasPrefix(v, "v1,") {
			t.Errorf("a secret in the logged headers: %q", v)
		}
	}
}

// The signature also checks out against the library's test vector values
// over the wire, with a fixed webhook-id and the body the receiver got.
func TestSendSignatureStableAcrossRetries(t *testing.T) {
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) })
	s := testSender(5 * time.Second)
	tg := testTarget(rc.URL)
	d := testDelivery()
	for i := 0; i < 2; i++ {
		d.Attempts = i
		r := attemptOnce(s, context.Background(), tg, d)
		if r.Success || r.ErrorClass != hookd.ClassStatus || r.HTTPStatus != 500 || r.Error != "HTTP 500 Internal Server Error" {
			t.Fatalf("result %+v", r)
		}
		if r.NextAttemptAt == nil {
			t.Fatal("a 500 was not retried")
		}
	}
	reqs := rc.requests()
	if reqs[0].Header.Get("webhook-id") != d.MessageID || reqs[1].Header.Get("webhook-id") != d.MessageID {
		t.Error("webhook-id changed across attempts")
	}
	if string(reqs[0].Body) != string(reqs[1].Body) {
		t.Error("body changed across attempts")
	}
	for _, req := range reqs {
		if err := mustWebhook(t, vectorSecret).Verify(req.Body, req.Header); err != nil {
			t.Error(err)
		}
	}
}

func TestSendRedirectNotFollowed(t *testing.T) {
	target := newReceiver(t, nil)
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/elsewhere", http.StatusTemporaryRedirect)
	})
	r := attemptOnce(testSender(5*time.Second), context.Background(), testTarget(rc.URL), testDelivery())
	if r.Success || r.ErrorClass != hookd.ClassRedirect || r.HTTPStatus != 307 {
		t.Fatalf("result %+v", r)
	}
	if !strings.Contains(r.Error, "/elsewhere") || r.NextAttemptAt == nil {
		t.Errorf("result %+v", r)
	}
	if n := len(target.requests()); n != 0 {
		t.Fatalf("the redirect was followed (%d requests)", n)
	}
}

func TestSendTimeout(t *testing.T) {
	release := make(chan struct{})
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	start := time.Now()
	r := attemptOnce(testSender(200*time.Millisecond), context.Background(), testTarget(rc.URL), testDelivery())
	if r.Success || r.ErrorClass != hookd.ClassTimeout || r.HTTPStatus != 0 {
		t.Fatalf("result %+v", r)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Fatalf("a 200ms timeout took %s", el)
	}
	if r.NextAttemptAt == nil {
		t.Error("a timeout was not retried")
	}
	if strings.Contains(r.Error, rc.URL) {
		t.Errorf("the error repeats the URL: %s", r.Error)
	}
}

func TestSendConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	r := attemptOnce(testSender(5*time.Second), context.Background(), testTarget("http://"+addr+"/"), testDelivery())
	if r.Success || r.ErrorClass != hookd.ClassRefused || r.HTTPStatus != 0 || r.Error == "" {
		t.Fatalf("result %+v", r)
	}
}

func TestSendConnectionReset(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			// Read the request, then hang up without answering.
			c.Read(make([]byte, 4096))
			c.(*net.TCPConn).SetLinger(0) // RST
			c.Close()
		}
	}()
	r := attemptOnce(testSender(5*time.Second), context.Background(), testTarget("http://"+ln.Addr().String()+"/"), testDelivery())
	if r.Success || r.ErrorClass != hookd.ClassReset {
		t.Fatalf("result %+v", r)
	}
}

func TestSendForbiddenAddress(t *testing.T) {
	rc := newReceiver(t, nil)
	s := NewSender(SenderConfig{Timeout: 5 * time.Second}) // no allow-list
	r := attemptOnce(s, context.Background(), testTarget(rc.URL), testDelivery())
	if r.Success || r.ErrorClass != hookd.ClassForbidden || !strings.Contains(r.Error, "127.0.0.1") {
		t.Fatalf("result %+v", r)
	}
	// A redirect to a forbidden address cannot be followed either, and a
	// host name resolving to loopback is caught at connect time.
	u := strings.Replace(rc.URL, "127.0.0.1", "localhost", 1)
	r = attemptOnce(s, context.Background(), testTarget(u), testDelivery())
	if r.ErrorClass != hookd.ClassForbidden {
		t.Fatalf("localhost: result %+v", r)
	}
	if n := len(rc.requests()); n != 0 {
		t.Fatalf("the receiver got %d requests", n)
	}
}

func TestSendGoneDisables(t *testing.T) {
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusGone) })
	r := attemptOnce(testSender(5*time.Second), context.Background(), testTarget(rc.URL), testDelivery())
	if r.Success || r.ErrorClass != hookd.ClassGone || r.HTTPStatus != 410 {
		t.Fatalf("result %+v", r)
	}
	if !r.DisableWebhook || r.NextAttemptAt != nil {
		t.Fatalf("410: disable %v next %v", r.DisableWebhook, r.NextAttemptAt)
	}
}

func TestSendRetryAfter(t *testing.T) {
	for _, c := range []struct {
		status     int
		retryAfter string
		wantMin    time.Duration
		wantMax    time.Duration
	}{
		{429, "120", 2 * time.Minute, 2*time.Minute + 2*time.Second},
		{503, "7", 7 * time.Second, 9 * time.Second},
		{429, "999999", 10 * time.Hour, 10*time.Hour + 2*time.Second}, // clamped to the longest step
		{429, time.Now().Add(time.Hour).UTC().Format(http.TimeFormat), 59 * time.Minute, time.Hour + 2*time.Second},
		{429, "", 4 * time.Second, 6 * time.Second},        // no header: the schedule (5s ±20%)
		{500, "120", 4 * time.Second, 6 * time.Second},     // not honoured on a 500
		{503, "garbage", 4 * time.Second, 6 * time.Second}, // unparsable: the schedule
		{429, "0", 4 * time.Second, 6 * time.Second},       // a floor, not a shortcut
		{503, time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat), 4 * time.Second, 6 * time.Second},
	} {
		rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
			if c.retryAfter != "" {
				w.Header().Set("Retry-After", c.retryAfter)
			}
			w.WriteHeader(c.status)
		})
		start := time.Now()
		r := attemptOnce(testSender(5*time.Second), context.Background(), testTarget(rc.URL), testDelivery())
		if r.Success || r.ErrorClass != hookd.ClassStatus || r.HTTPStatus != c.status || r.NextAttemptAt == nil {
			t.Fatalf("%d %q: result %+v", c.status, c.retryAfter, r)
		}
		// NextAttemptAt counts from the end of the attempt, in milliseconds.
		if d := r.NextAttemptAt.Sub(start); d < c.wantMin-time.Millisecond || d > c.wantMax {
			t.Errorf("%d %q: retry in %s, want [%s, %s]", c.status, c.retryAfter, d, c.wantMin, c.wantMax)
		}
	}
}

// TestRetryAfterOnTheDispatchersClock checks that a Retry-After, a date
// included, and the scheduled delay count from one instant on the
// dispatcher's clock, here far from the wall clock: the end of the attempt,
// r.At + r.Duration.
func TestRetryAfterOnTheDispatchersClock(t *testing.T) {
	start := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	for _, c := range []struct {
		status     int
		retryAfter string
		want       func(end time.Time) time.Time
	}{
		// A date means that instant, however long the attempt took.
		{503, start.Add(time.Hour).Format(http.TimeFormat), func(time.Time) time.Time { return start.Add(time.Hour) }},
		{429, "3600", func(end time.Time) time.Time { return end.Add(time.Hour) }},
		{500, "", func(end time.Time) time.Time { return end.Add(5 * time.Second) }},
	} {
		rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
			if c.retryAfter != "" {
				w.Header().Set("Retry-After", c.retryAfter)
			}
			w.WriteHeader(c.status)
		})
		disp := newDispatcher(t, Config{
			Store:  newFakeStore(),
			Sender: testSender(5 * time.Second),
			Policy: &Policy{Schedule: []time.Duration{5 * time.Second, 2 * time.Hour}},
			Clock:  clocktest.New(start),
		})
		r, ok := disp.attempt(context.Background(), testTarget(rc.URL), testDelivery())
		if !ok || r.Success || r.HTTPStatus != c.status || r.NextAttemptAt == nil || !r.At.Equal(start) {
			t.Fatalf("%d %q: result %+v", c.status, c.retryAfter, r)
		}
		want := c.want(r.At.Add(r.Duration)).Truncate(time.Millisecond)
		if !r.NextAttemptAt.Equal(want) {
			t.Errorf("%d %q: next attempt at %s, want %s (the attempt took %s)", c.status, c.retryAfter, r.NextAttemptAt, want, r.Duration)
		}
	}
}

func TestSendLargeResponseTruncated(t *testing.T) {
	const size = 100 << 20 // 100 MB, streamed
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		chunk := []byte(strings.Repeat("0123456789abcdef", 4096))
		for sent := 0; sent < size; sent += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return // the sender hung up: good
			}
		}
	})
	start := time.Now()
	r := attemptOnce(testSender(10*time.Second), context.Background(), testTarget(rc.URL), testDelivery())
	if !r.Success || r.HTTPStatus != 200 {
		t.Fatalf("result %+v", r)
	}
	if len(r.ResponseBody) != hookd.MaxLoggedBody {
		t.Fatalf("logged %d bytes, want %d", len(r.ResponseBody), hookd.MaxLoggedBody)
	}
	if !strings.HasPrefix(r.ResponseBody, "0123456789abcdef0123") {
		t.Errorf("logged body starts %q", r.ResponseBody[:20])
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("a 100 MB response held the attempt for %s", el)
	}
}

func TestLogBody(t *testing.T) {
	if got := logBody([]byte("plain")); got != "plain" {
		t.Error(got)
	}
	if got := logBody([]byte("a\x00b\xffc")); got != "a\uFFFDb\uFFFDc" {
		t.Errorf("%q", got)
	}
	// A multi-byte rune cut at the limit is dropped, not mangled.
	b := []byte(strings.Repeat("a", hookd.MaxLoggedBody-1) + "é")
	if got := logBody(b[:hookd.MaxLoggedBody]); len(got) != hookd.MaxLoggedBody-1 || strings.ContainsRune(got, '\uFFFD') {
		t.Errorf("cut rune: len %d", len(got))
	}
	// Replacements never push the log past the limit.
	if got := logBody([]byte(strings.Repeat("\xff", hookd.MaxLoggedBody))); len(got) > hookd.MaxLoggedBody {
		t.Errorf("len %d", len(got))
	}
}

func TestSendTLSError(t *testing.T) {
	var proto atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proto.Store(int32(r.ProtoMajor))
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshake errors are expected
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	// The test server's certificate is not trusted by default.
	r := attemptOnce(testSender(5*time.Second), context.Background(), testTarget(srv.URL), testDelivery())
	if r.Success || r.ErrorClass != hookd.ClassTLS {
		t.Fatalf("result %+v", r)
	}
	// Trusted, it works, over HTTP/2 as the server offers it.
	s := NewSender(SenderConfig{Timeout: 5 * time.Second, AllowPrivate: loopback,
		TLSConfig: &tls.Config{RootCAs: srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}})
	if r := attemptOnce(s, context.Background(), testTarget(srv.URL), testDelivery()); !r.Success {
		t.Fatalf("trusted: result %+v", r)
	}
	if proto.Load() != 2 {
		t.Errorf("HTTP/%d, want HTTP/2", proto.Load())
	}
	// Plain HTTP to a TLS port or TLS to a plain port: both TLS failures.
	plain := newReceiver(t, nil)
	r = attemptOnce(testSender(5*time.Second), context.Background(), testTarget(strings.Replace(plain.URL, "http:", "https:", 1)), testDelivery())
	if r.ErrorClass != hookd.ClassTLS {
		t.Fatalf("https to a plain server: result %+v", r)
	}
}

// The transport goes on connecting after an attempt gives up: a receiver
// that stalls the TLS handshake keeps that connection no longer than the
// attempt's timeout (not the 10 s a handshake may take at most).
func TestSendStalledHandshakeEndsWithTheAttempt(t *testing.T) {
	rr := newRawReceiver(t, "127.0.0.1:0", neverAnswer)
	s := NewSender(SenderConfig{Timeout: 300 * time.Millisecond, AllowPrivate: loopback,
		TLSConfig: &tls.Config{InsecureSkipVerify: true}})
	r := attemptOnce(s, context.Background(), testTarget("https://"+rr.ln.Addr().String()+"/"), testDelivery())
	if r.Success || r.ErrorClass != hookd.ClassTimeout {
		t.Fatalf("result %+v", r)
	}
	waitFor(t, 5*time.Second, "the stalled connection to close", func() bool { return rr.open() == 0 })
}

// An unknown name is a DNS failure, retried. The test resolver answers
// NXDOMAIN without any DNS traffic.
func TestSendDNSError(t *testing.T) {
	s := NewSender(SenderConfig{Timeout: 5 * time.Second, Resolver: testResolver(egressHosts)})
	r := attemptOnce(s, context.Background(), testTarget("http://no-such-host.invalid/"), testDelivery())
	if r.Success || r.ErrorClass != hookd.ClassDNS || r.NextAttemptAt == nil {
		t.Fatalf("result %+v", r)
	}
}

// A lookup that times out (its name server does not answer) is classed as
// a timeout, as a receiver that never answers is: it held the attempt as
// long, and a timeout takes a webhook's trust (windows.ended).
func TestSendDNSTimeout(t *testing.T) {
	silent := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: network, Err: os.ErrDeadlineExceeded}
	}}
	s := NewSender(SenderConfig{Timeout: 5 * time.Second, Resolver: silent})
	r := attemptOnce(s, context.Background(), testTarget("http://silent.invalid/"), testDelivery())
	if r.Success || r.ErrorClass != hookd.ClassTimeout || r.NextAttemptAt == nil {
		t.Fatalf("result %+v", r)
	}
}

func TestSendBadTarget(t *testing.T) {
	d := testDelivery()
	tg := testTarget("http://127.0.0.1:1/")
	tg.Secrets = nil
	r := attemptOnce(testSender(time.Second), context.Background(), tg, d)
	if r.Success || r.ErrorClass != hookd.ClassInternal || !strings.Contains(r.Error, "signing secret") {
		t.Fatalf("no secret: result %+v", r)
	}
	tg = testTarget("ftp://example.com/")
	r = attemptOnce(testSender(time.Second), context.Background(), tg, d)
	if r.Success || r.ErrorClass == "" {
		t.Fatalf("ftp: result %+v", r)
	}
	tg = testTarget("http://example.com/")
	tg.Method = "BAD METHOD"
	r = attemptOnce(testSender(time.Second), context.Background(), tg, d)
	if r.Success || r.ErrorClass != hookd.ClassInternal {
		t.Fatalf("bad method: result %+v", r)
	}
}

// Connections are reused between attempts to the same receiver.
func TestSendReusesConnections(t *testing.T) {
	var mu sync.Mutex
	conns := map[string]bool{}
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		conns[r.RemoteAddr] = true
		mu.Unlock()
		io.WriteString(w, strings.Repeat("x", 30<<10)) // longer than the logged part
	})
	s := testSender(5 * time.Second)
	for i := 0; i < 5; i++ {
		if r := attemptOnce(s, context.Background(), testTarget(rc.URL), testDelivery()); !r.Success {
			t.Fatalf("result %+v", r)
		}
	}
	if len(conns) != 1 {
		t.Errorf("5 attempts used %d connections", len(conns))
	}
}
