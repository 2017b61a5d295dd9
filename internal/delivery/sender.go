package delivery

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/hookd/hookd"
)

// Defaults of SenderConfig.
const (
	DefaultTimeout = 15 * time.Second
	// DefaultConcurrency is high because an attempt is a goroutine waiting
	// on the network (a few KB), and a webhook may hold only a quarter of
	// the workers (hookd.DefaultShare): up to 64 at once, as its receiver
	// earns them (windows.go), which lets one fast receiver get as much as
	// all the workers of a smaller pool would give it, while 192 stay for
	// the others.
	DefaultConcurrency = 256
)

// drainLimit is how much of a response body beyond the logged part is read
// and discarded so that the connection can be reused. A longer body is not
// read: the connection is closed instead, so a receiver that answers with an
// endless body holds a worker for no longer than reading hookd.MaxLoggedBody
// plus drainLimit bytes takes, and never more memory than that.
const drainLimit = 64 << 10

// maxResponseHeaderBytes caps the status line and headers of a response. A
// receiver that sends more fails the attempt with hookd.ClassTooLarge.
const maxResponseHeaderBytes = 64 << 10

// maxHandshake bounds a TLS handshake (and an attempt's timeout bounds it
// too).
const maxHandshake = 10 * time.Second

// Masked stands for a secret header value in RequestHeaders and in error texts.
const Masked = "********"

// NotSent stands in RequestHeaders for a stored header that was left out
// because its name is reserved (hookd.IsReservedHeader): a header stored
// before its name was reserved.
const NotSent = "(not sent: reserved name)"

// Names of the headers hookd sets on every delivery.
const (
	HeaderWebhookID        = "webhook-id"
	HeaderWebhookTimestamp = "webhook-timestamp"
	HeaderWebhookSignature = "webhook-signature"
)

// SenderConfig configures a Sender. The zero value is usable.
type SenderConfig struct {
	// Timeout bounds one attempt, from connecting to reading and draining
	// the response's body (default DefaultTimeout).
	Timeout time.Duration
	// Concurrency is how many attempts run at once; it sizes the pool of idle
	// connections kept per host (default DefaultConcurrency).
	Concurrency int
	// AllowPrivate lists the prefixes that deliveries may reach although
	// they are private or internal (--allow-private); see DialControl.
	AllowPrivate []netip.Prefix
	// TLSConfig, when set, is used for HTTPS (cloned; its MinVersion is
	// raised to TLS 1.2). Tests use it to trust a test server's certificate.
	TLSConfig *tls.Config
	// UserAgent is the User-Agent header (default "hookd/" + hookd.Version).
	UserAgent string
	// Resolver resolves receivers' host names (default net.DefaultResolver).
	// Whatever it answers, the address check runs on the resolved address
	// before connecting. Tests use it to map names to chosen addresses.
	Resolver *net.Resolver
}

// Sender makes delivery attempts over HTTP. It is safe for concurrent use.
type Sender struct {
	client    *http.Client
	transport *http.Transport
	dialer    *net.Dialer
	timeout   time.Duration
	userAgent string
}

// NewSender returns a Sender whose client keeps connections alive, dials
// through NewDialer(cfg.AllowPrivate) (resolving with cfg.Resolver), caps
// response headers at 64 KB, speaks TLS 1.2 or later, uses no
// proxy (a proxy would hide the receiver's address from the check) and does
// not follow redirects.
func NewSender(cfg SenderConfig) *Sender {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "hookd/" + hookd.Version
	}
	var tlsConfig *tls.Config
	if cfg.TLSConfig != nil {
		tlsConfig = cfg.TLSConfig.Clone()
	} else {
		tlsConfig = &tls.Config{}
	}
	if tlsConfig.MinVersion < tls.VersionTLS12 {
		tlsConfig.MinVersion = tls.VersionTLS12
	}
	dialer := NewDialer(cfg.AllowPrivate)
	dialer.Resolver = cfg.Resolver
	// The transport goes on connecting after the attempt gives up (to pool
	// the connection): a receiver that stalls the lookup, the connection or
	// the handshake holds it no longer than an attempt.
	dialer.Timeout = min(dialer.Timeout, cfg.Timeout)
	transport := &http.Transport{
		Proxy:                  nil,
		DialContext:            dialer.DialContext,
		TLSClientConfig:        tlsConfig,
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    min(maxHandshake, cfg.Timeout),
		MaxIdleConns:           max(100, 2*cfg.Concurrency),
		MaxIdleConnsPerHost:    cfg.Concurrency,
		IdleConnTimeout:        90 * time.Second,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: maxResponseHeaderBytes,
		// hookd reads a few KB of an answer and drains a bounded rest: a
		// compressed answer would be bounded after decompression only, and
		// empty gzip members, which decompress to nothing, would hold the
		// attempt to its timeout.
		DisableCompression: true,
	}
	return &Sender{
		client: &http.Client{
			Transport: transport,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
		transport: transport,
		dialer:    dialer,
		timeout:   cfg.Timeout,
		userAgent: cfg.UserAgent,
	}
}

// Timeout returns the per-attempt timeout.
func (s *Sender) Timeout() time.Duration { return s.timeout }

// Outcome is what one attempt did, as the Sender saw it. What follows (a
// retry, the end of the delivery) is the Policy's decision, not the
// Sender's.
type Outcome struct {
	Success    bool
	HTTPStatus int // 0 when no response arrived
	ErrorClass string
	Error      string
	Duration   time.Duration
	// End is when the attempt ended on the injected clock's time line: the
	// at given to Send plus Duration. Retry-After and the Policy's delays
	// count from it.
	End            time.Time
	RequestHeaders map[string]string // secrets masked
	// NotSent names the webhook's headers that were left out because
	// their names are reserved.
	NotSent      []string
	ResponseBody string // at most hookd.MaxLoggedBody bytes
	// RetryAfter is the delay that a failed response asked for in its
	// Retry-After header, counted from End; -1 when it asked none that
	// parses.
	RetryAfter time.Duration
}

// Send makes one attempt, at time at, to deliver d to t, and reports what
// happened.
//
// The request carries the body of Body, Content-Type: application/json,
// User-Agent, webhook-id (d.MessageID), webhook-timestamp (at),
// webhook-signature (Sign with t.Secrets), then t's custom headers: a plain
// one as it is, an is_hmac one with HMACHex of the body; a custom header
// with a reserved name is not sent (NotSent). RequestHeaders shows them
// with the signature and every hidden or HMAC value masked, and Error never
// holds a header value: where a Go client error or a receiver's malformed
// answer quotes one, it reads Masked (maskValues).
func (s *Sender) Send(ctx context.Context, t *hookd.Target, d *hookd.Delivery, at time.Time) Outcome {
	start := time.Now() // the duration is measured on the monotonic clock
	o := Outcome{RetryAfter: -1}
	retryAfter := s.attempt(ctx, t, d, at, &o)
	o.Duration = time.Since(start)
	o.End = at.Add(o.Duration)
	// A Retry-After date is read on the clock's time line, like at.
	if delay, ok := ParseRetryAfter(retryAfter, o.End); ok {
		o.RetryAfter = delay
	}
	return o
}

// attempt fills o but for its Duration, End and RetryAfter, and returns the
// Retry-After header of a failed response that may be retried ("" when
// none).
func (s *Sender) attempt(ctx context.Context, t *hookd.Target, d *hookd.Delivery, at time.Time, o *Outcome) string {
	body := Body(&d.Event, d.WebhookID)
	timestamp := strconv.FormatInt(at.Unix(), 10)
	signature := Sign(t.Secrets, d.MessageID, at, body)

	header := make(http.Header, 5+len(t.Headers))
	shown := make(map[string]string, 5+len(t.Headers))
	header["Content-Type"] = []string{"application/json"}
	shown["Content-Type"] = "application/json"
	header["User-Agent"] = []string{s.userAgent}
	shown["User-Agent"] = s.userAgent
	// Standard Webhooks spells its headers in lowercase; they are sent so.
	header[HeaderWebhookID] = []string{d.MessageID}
	shown[HeaderWebhookID] = d.MessageID
	header[HeaderWebhookTimestamp] = []string{timestamp}
	shown[HeaderWebhookTimestamp] = timestamp
	header[HeaderWebhookSignature] = []string{signature}
	shown[HeaderWebhookSignature] = Masked
	secrets, plain := []string{signature}, []string(nil)
	// The receiver holds the signing secrets too (to verify), and a careless
	// one may show its configuration; Standard Webhooks libraries take the
	// key with or without its prefix, which is no secret.
	for _, secret := range t.Secrets {
		secrets = append(secrets, strings.TrimPrefix(secret, SecretPrefix))
	}
	cut := false // the logged body was cut at hookd.MaxLoggedBody
	defer func() {
		// A receiver writes both: an echo of the request (a debugging
		// endpoint, a framework's error page) must not show the hidden
		// values to whoever reads the log, nor an answer fill it.
		if o.Error == "" && o.ResponseBody == "" {
			return
		}
		echoes := secretEchoes(secrets)
		o.Error = truncate(maskValues(o.Error, echoes, plain), maxErrorText)
		o.ResponseBody = maskValues(o.ResponseBody, echoes, nil)
		if cut {
			o.ResponseBody = maskCutEcho(o.ResponseBody, echoes)
		}
		// A mask is longer than a short value it hides: a body of echoes
		// would outgrow the bound it was read to.
		o.ResponseBody = cutText(o.ResponseBody, hookd.MaxLoggedBody)
	}()
	// Custom headers go out with their key as the admin wrote it; rows that
	// share a key (whatever its case) become one header with several values.
	keys := make(map[string]string, len(t.Headers))
	for _, h := range t.Headers {
		if hookd.IsReservedHeader(h.Key) {
			o.NotSent = append(o.NotSent, h.Key)
			continue
		}
		canon := http.CanonicalHeaderKey(h.Key)
		key, ok := keys[canon]
		if !ok {
			key = h.Key
			keys[canon] = key
		}
		value, display := h.Value, h.Value
		if h.IsHMAC {
			value = HMACHex(h.Value, body)
		}
		if h.Secret() {
			display = Masked
			secrets = append(secrets, h.Value, value)
		} else {
			plain = append(plain, value)
		}
		header[key] = append(header[key], value)
		if prev, ok := shown[key]; ok {
			display = prev + ", " + display
		}
		shown[key] = display
	}
	// The attempt's trace context, when tracing is on. A custom header of
	// these names cannot be created (http/headers.go reserves them).
	injectTraceContext(ctx, header)
	for _, k := range []string{"Traceparent", "Tracestate"} {
		if v := header.Get(k); v != "" {
			shown[k] = v
		}
	}
	for _, key := range o.NotSent {
		if !hasKeyFold(shown, key) {
			shown[key] = NotSent
		}
	}
	o.RequestHeaders = shown

	if signature == "" {
		o.ErrorClass = hookd.ClassInternal
		o.Error = "no valid signing secret for this webhook"
		return ""
	}
	method := t.Method
	if method == "" {
		method = http.MethodPost
	}

	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, t.URL, bytes.NewReader(body))
	if err != nil {
		o.ErrorClass = hookd.ClassInternal
		o.Error = "invalid request: " + unwrapURLError(err).Error()
		return ""
	}
	req.Header = header

	resp, err := s.client.Do(req)
	if err != nil {
		o.ErrorClass, o.Error = classify(err)
		return ""
	}
	o.HTTPStatus = resp.StatusCode
	if resp.StatusCode < 200 {
		// A final 1xx is 101 Switching Protocols (net/http skips the
		// others): its body is the raw connection, which no deadline
		// watches, so it is closed unread.
		resp.Body.Close()
		o.ErrorClass = hookd.ClassInformational
		o.Error = fmt.Sprintf("HTTP %d %s: an informational answer, not a final one", resp.StatusCode, http.StatusText(resp.StatusCode))
		return ""
	}
	logged, err := readBody(ctx, resp.Body)
	o.ResponseBody, cut = logBody(logged), len(logged) >= hookd.MaxLoggedBody
	if err != nil {
		o.ErrorClass, o.Error = classify(err)
		o.Error = fmt.Sprintf("HTTP %d, then the body was cut off: %s", resp.StatusCode, o.Error)
		return ""
	}
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		o.Success = true
	case code >= 300 && code < 400:
		o.ErrorClass = hookd.ClassRedirect
		o.Error = fmt.Sprintf("HTTP %d: redirects are not followed", code)
		if loc := resp.Header.Get("Location"); loc != "" {
			o.Error = fmt.Sprintf("HTTP %d: redirect to %s not followed", code, truncate(loc, 512))
		}
	case code == http.StatusGone:
		o.ErrorClass = hookd.ClassGone
		o.Error = "HTTP 410 Gone: the webhook is disabled"
	default:
		o.ErrorClass = hookd.ClassStatus
		o.Error = "HTTP " + strconv.Itoa(code)
		if text := http.StatusText(code); text != "" {
			o.Error += " " + text
		}
		return resp.Header.Get("Retry-After")
	}
	return ""
}

// hasKeyFold reports whether m has key, in any case.
func hasKeyFold(m map[string]string, key string) bool {
	for k := range m {
		if strings.EqualFold(k, key) {
			return true
		}
	}
	return false
}

// maskValues replaces by Masked, in msg, each of the secrets' echoes
// (secretEchoes) wherever it appears, and each plain value where Go quotes
// it whole: a plain value may be short, and is not to be masked inside an
// address or a word. It runs on every attempt's answer: a scan of msg for
// each echo (a fixed number per secret) and, only when one is there, one
// pass of a replacer that looks no further than the longest echo from any
// position; never quadratic in msg.
func maskValues(msg string, echoes, plain []string) string {
	if msg == "" {
		return msg
	}
	oldnew := make([]string, 0, 2*len(echoes)+2*len(plain))
	for _, echo := range echoes {
		oldnew = append(oldnew, echo, Masked)
	}
	for _, value := range plain {
		oldnew = append(oldnew, strconv.Quote(value), `"`+Masked+`"`)
	}
	// Most texts (every logged response body) hold none: a replacer is
	// built only for those that do.
	for i := 0; i < len(oldnew); i += 2 {
		if strings.Contains(msg, oldnew[i]) {
			return strings.NewReplacer(oldnew...).Replace(msg)
		}
	}
	return msg
}

// secretEchoes returns, once each, the forms of secrets that maskValues and
// maskCutEcho mask: each secret as it is and in the forms an echo may take
// (secretForms). Where one form begins another (a padded base64 form its
// unpadded one), the longer comes first: a replacer takes the first listed.
func secretEchoes(secrets []string) []string {
	var echoes []string
	seen := make(map[string]bool)
	for _, secret := range secrets {
		if secret == "" {
			continue
		}
		for _, form := range secretForms(secret) {
			if form != "" && !seen[form] {
				seen[form] = true
				echoes = append(echoes, form)
			}
		}
	}
	return echoes
}

// secretForms are the forms in which a receiver, or an error text, may
// echo secret: as it is, as Go quotes it (%q, which error texts use), as
// JSON escapes it (encoding/json's "<" is \u003c: a receiver that echoes its
// request headers as JSON), percent-encoded (one that echoes a query or a
// form), and in base64, standard and URL-safe (appendBase64Forms).
func secretForms(secret string) []string {
	quoted := strconv.Quote(secret)
	js, _ := json.Marshal(secret)
	forms := []string{secret, quoted[1 : len(quoted)-1], string(js[1 : len(js)-1]), url.QueryEscape(secret), url.PathEscape(secret)}
	forms = appendBase64Forms(forms, base64.StdEncoding, secret)
	return appendBase64Forms(forms, base64.URLEncoding, secret)
}

// appendBase64Forms appends the forms of secret in enc's alphabet: whole,
// padded then not (a receiver that echoes the value alone, encoded), then
// the characters that encode it inside a longer encoded text (an echo of
// "user:secret", or of all the request's headers). There, the secret may
// start at any byte offset, and how its bits fall into characters depends
// on that offset modulo 3: one form each. Each stops short of the one or
// two characters at either end that also hold a neighbour's bits, which
// thus show at most 4 bits of the secret's first byte and of its last.
// Base64 cut into lines (MIME) is not looked for, nor the inner forms of a
// secret so short that they are shorter than minEmbeddedEcho.
func appendBase64Forms(forms []string, enc *base64.Encoding, secret string) []string {
	padded := enc.EncodeToString([]byte(secret))
	forms = append(forms, padded, strings.TrimRight(padded, "="))
	raw := enc.WithPadding(base64.NoPadding)
	shifted := make([]byte, 2+len(secret))
	for offset := range 3 {
		copy(shifted[offset:], secret)
		encoded := raw.EncodeToString(shifted[:offset+len(secret)])
		// Character i holds bits [6i, 6i+6): the secret's are [8·offset,
		// 8·(offset+len)). What the bytes before it are does not matter:
		// the characters that hold their bits are left out.
		first, end := (8*offset+5)/6, 8*(offset+len(secret))/6
		if end-first >= minEmbeddedEcho {
			forms = append(forms, encoded[first:end])
		}
	}
	return forms
}

// minEmbeddedEcho is the fewest characters an inner base64 form of a secret
// (appendBase64Forms) may have to be masked: a shorter run of base64
// characters turns up in any text by chance, and masking it everywhere
// would make the log unreadable for a few bits of a short secret.
const minEmbeddedEcho = 8

// minCutEcho is the fewest characters of an echo's start that maskCutEcho
// masks at the end of a cut body: four characters begin one of a secret's
// forms by chance about once in 10,000 cut bodies.
const minCutEcho = 4

// maxErrorText bounds an attempt's error text, which may quote what the
// receiver sent (a malformed status line, a header).
const maxErrorText = 2 << 10

// maskCutEcho masks the longest start of an echo that body, cut at
// hookd.MaxLoggedBody, ends with: the cut may fall inside one, which
// maskValues could then not find whole. A start shorter than minCutEcho is
// left: with a dozen forms a secret, a body's last one or two characters
// begin one of them by chance (one cut body in ten), and three show little
// of a secret.
func maskCutEcho(body string, echoes []string) string {
	longest := 0
	for _, echo := range echoes {
		longest = max(longest, startAtEnd(body, echo))
	}
	if longest < minCutEcho {
		return body
	}
	return body[:len(body)-longest] + Masked
}

// startAtEnd returns the length of the longest proper prefix of echo that s
// ends with. It matches echo along s's end as Knuth-Morris-Pratt does, in
// time linear in echo's length (trying each length in turn would be
// quadratic in it).
func startAtEnd(s, echo string) int {
	if len(echo) < 2 {
		return 0
	}
	// fallback[i] is the length of the longest proper prefix of echo[:i+1]
	// that it ends with.
	fallback := make([]int, len(echo)-1)
	for i, k := 1, 0; i < len(echo)-1; i++ {
		for k > 0 && echo[i] != echo[k] {
			k = fallback[k-1]
		}
		if echo[i] == echo[k] {
			k++
		}
		fallback[i] = k
	}
	k := 0 // the length of echo's prefix that the part of s read ends with
	for _, c := range []byte(s[max(0, len(s)-(len(echo)-1)):]) {
		for k > 0 && c != echo[k] {
			k = fallback[k-1]
		}
		if c == echo[k] {
			k++
		}
	}
	return k
}

// readBody reads the logged part of body, drains up to drainLimit more so
// that the connection can be reused, and closes body. Every read stops when
// ctx ends: body is closed then, whatever the transport watches, and a body
// closed before its end takes its connection with it, never back to the
// pool. It returns ctx's error when ctx ended before the body did.
func readBody(ctx context.Context, body io.ReadCloser) ([]byte, error) {
	stop := context.AfterFunc(ctx, func() { body.Close() })
	defer stop()
	defer body.Close()
	logged, err := io.ReadAll(io.LimitReader(body, hookd.MaxLoggedBody))
	if err == nil {
		_, err = io.CopyN(io.Discard, body, drainLimit)
	}
	if err != nil && err != io.EOF && ctx.Err() != nil {
		return logged, ctx.Err()
	}
	return logged, nil
}

// unwrapURLError drops the *url.Error wrapper, whose message repeats the
// method and the whole URL (which may hold a token).
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err
	}
	return err
}

// classify returns the error class and message of a request that got no
// response.
func classify(err error) (class, message string) {
	message = unwrapURLError(err).Error()
	var forbidden *ForbiddenAddressError
	var dnsErr *net.DNSError
	var netErr net.Error
	switch {
	case errors.As(err, &forbidden):
		return hookd.ClassForbidden, forbidden.Error()
	case errors.As(err, &dnsErr) && !dnsErr.IsTimeout:
		// A lookup that timed out is the attempt's timeout: a receiver's
		// name server that never answers holds the attempt as a receiver
		// that never answers does, and is classed alike (windows.ended).
		return hookd.ClassDNS, message
	case isTooLarge(err):
		return hookd.ClassTooLarge, fmt.Sprintf("the response headers exceed %d bytes: attempt aborted", maxResponseHeaderBytes)
	case isTLS(err):
		return hookd.ClassTLS, message
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return hookd.ClassTimeout, message
	case errors.Is(err, context.Canceled):
		return hookd.ClassInternal, "attempt cancelled: hookd is shutting down"
	case errors.Is(err, syscall.ECONNREFUSED):
		return hookd.ClassRefused, message
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNABORTED),
		errors.Is(err, syscall.EPIPE), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return hookd.ClassReset, message
	}
	return hookd.ClassConnection, message
}

// isTooLarge reports whether err is the transport giving up on response
// headers longer than MaxResponseHeaderBytes (HTTP/1.1) or the advertised
// header list size (HTTP/2). Neither error has a type of its own.
func isTooLarge(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "server response headers exceeded") ||
		strings.Contains(msg, "response header list larger than advertised limit")
}

// isTLS reports whether err comes from the TLS handshake or certificate
// verification (a TLS handshake timeout counts as a timeout).
func isTLS(err error) bool {
	var (
		verify    *tls.CertificateVerificationError
		record    tls.RecordHeaderError
		alert     tls.AlertError
		unknownCA x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
		netErr    net.Error
	)
	if errors.As(err, &netErr) && netErr.Timeout() {
		return false
	}
	if errors.As(err, &verify) || errors.As(err, &record) || errors.As(err, &alert) ||
		errors.As(err, &unknownCA) || errors.As(err, &hostname) || errors.As(err, &invalid) {
		return true
	}
	// Alerts from the peer ("remote error: tls: handshake failure") have an
	// unexported type, and net/http turns a plain HTTP answer to a TLS
	// handshake into a message.
	msg := err.Error()
	return strings.Contains(msg, "tls: ") || strings.Contains(msg, "server gave HTTP response to HTTPS client")
}

// logBody returns b as it is kept in the log: valid UTF-8 without NUL bytes
// (invalid bytes and NULs become U+FFFD, a rune cut at the end is dropped),
// at most hookd.MaxLoggedBody bytes.
func logBody(b []byte) string {
	if len(b) > hookd.MaxLoggedBody {
		b = b[:hookd.MaxLoggedBody]
	}
	if utf8.Valid(b) && bytes.IndexByte(b, 0) < 0 {
		return string(b)
	}
	out := make([]byte, 0, len(b))
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 && !utf8.FullRune(b) {
			break
		}
		if (r == utf8.RuneError && size == 1) || r == 0 {
			if len(out)+3 > hookd.MaxLoggedBody {
				break
			}
			out = append(out, "\uFFFD"...)
		} else {
			if len(out)+size > hookd.MaxLoggedBody {
				break
			}
			out = append(out, b[:size]...)
		}
		b = b[size:]
	}
	return string(out)
}

// truncate returns s, or its first n bytes at most (cutText) and "…".
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return cutText(s, n) + "…"
}

// cutText returns s, or its first n bytes at most, cut before a rune.
func cutText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
