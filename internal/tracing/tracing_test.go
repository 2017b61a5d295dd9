package tracing_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/delivery"
	hookdhttp "github.com/hookd/hookd/internal/http"
	"github.com/hookd/hookd/internal/sqlite/sqlitetest"
	"github.com/hookd/hookd/internal/tracing"
)

// TestTraceFromIntakeToAttempts publishes an event through the real API
// with a publisher's traceparent, lets the real dispatcher deliver it over
// the SQLite queue (a failed attempt, then a retry), and checks the trace:
// the API's server span continues the publisher's trace, hookd.publish is
// its child, each attempt is a child of hookd.publish, and the receiver
// gets a traceparent naming its attempt's span.
func TestTraceFromIntakeToAttempts(t *testing.T) {
	recorder := tracetest.NewSpanRecorder()
	tracing.Install(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder)))

	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	store := sqlitetest.Open(t)

	var (
		mu       sync.Mutex
		received []string // traceparent of each request
		calls    atomic.Int32
	)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		received = append(received, r.Header.Get("traceparent"))
		mu.Unlock()
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	t.Cleanup(receiver.Close)
	wh := &hookd.Webhook{Name: "traced", HTTPURL: receiver.URL, HTTPMethod: "POST", TriggerEvents: []string{"ASSET_ADDED"}}
	if err := store.CreateWebhook(ctx, wh, hookd.NewSigningSecret()); err != nil {
		t.Fatal(err)
	}
	key, err := hookd.IssueAPIKey(ctx, store, hookd.DefaultUserID, "publisher", hookd.RolePublisher)
	if err != nil {
		t.Fatal(err)
	}

	api := httptest.NewServer(hookdhttp.NewServer(store, logger))
	t.Cleanup(api.Close)
	sender := delivery.NewSender(delivery.SenderConfig{
		Timeout:      5 * time.Second,
		AllowPrivate: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
	})
	d, err := delivery.New(delivery.Config{Store: store, Sender: sender, Logger: logger,
		Policy: &delivery.Policy{Schedule: []time.Duration{100 * time.Millisecond}}})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { d.Run(runCtx); close(done) }()
	t.Cleanup(func() { stop(); <-done })

	const publisherTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	const publisherSpan = "00f067aa0ba902b7"
	req, _ := http.NewRequest("POST", api.URL+"/api/v2/events", strings.NewReader(`{"event": "ASSET_ADDED", "data": {"n": 1}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-KEY", key)
	req.Header.Set("traceparent", "00-"+publisherTrace+"-"+publisherSpan+"-01")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("publish: %d", res.StatusCode)
	}

	// Both attempts ended: the receiver saw two requests and both attempt
	// spans are recorded.
	attempts := func() []sdktrace.ReadOnlySpan {
		var out []sdktrace.ReadOnlySpan
		for _, s := range recorder.Ended() {
			if s.Name() == "hookd.deliver ASSET_ADDED" {
				out = append(out, s)
			}
		}
		return out
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(attempts()) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d attempt spans after 10s, want 2", len(attempts()))
		}
		time.Sleep(20 * time.Millisecond)
	}

	byName := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range recorder.Ended() {
		byName[s.Name()] = s
	}
	server, publish := byName["POST /api/v2/events"], byName["hookd.publish"]
	if server == nil || publish == nil {
		t.Fatalf("spans recorded: %v", names(recorder.Ended()))
	}
	if got := server.SpanContext().TraceID().String(); got != publisherTrace {
		t.Errorf("server span trace %s, want the publisher's %s", got, publisherTrace)
	}
	if got := server.Parent().SpanID().String(); got != publisherSpan {
		t.Errorf("server span parent %s, want the publisher's span %s", got, publisherSpan)
	}
	if publish.Parent().SpanID() != server.SpanContext().SpanID() {
		t.Error("hookd.publish is not a child of the server span")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(received) != 2 {
		t.Fatalf("receiver got %d requests, want 2", len(received))
	}
	for i, a := range attempts() {
		if a.SpanContext().TraceID().String() != publisherTrace {
			t.Errorf("attempt %d: trace %s, want %s", i+1, a.SpanContext().TraceID(), publisherTrace)
		}
		if a.Parent().SpanID() != publish.SpanContext().SpanID() {
			t.Errorf("attempt %d: parent %s, want hookd.publish %s", i+1, a.Parent().SpanID(), publish.SpanContext().SpanID())
		}
		want := "00-" + publisherTrace + "-" + a.SpanContext().SpanID().String() + "-01"
		found := false
		for _, tp := range received {
			found = found || tp == want
		}
		if !found {
			t.Errorf("attempt %d: no request carried traceparent %s; got %q", i+1, want, received)
		}
	}
}

func names(spans []sdktrace.ReadOnlySpan) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name())
	}
	return out
}

// TestSetupExportsToCollector points Setup at a fake OTLP/HTTP collector
// on 127.0.0.1 and checks that spans arrive at /v1/traces at shutdown.
func TestSetupExportsToCollector(t *testing.T) {
	var (
		mu    sync.Mutex
		posts []string
	)
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		posts = append(posts, r.Method+" "+r.URL.Path+" "+r.Header.Get("Content-Type"))
		mu.Unlock()
		if len(body) == 0 {
			t.Error("empty export")
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer collector.Close()
	t.Setenv("OTEL_SDK_DISABLED", "")
	t.Setenv("OTEL_TRACES_EXPORTER", "")

	shutdown, err := tracing.Setup(context.Background(), collector.URL)
	if err != nil {
		t.Fatal(err)
	}
	// The same path that serve takes: a request to the API is a span.
	store := sqlitetest.Open(t)
	api := httptest.NewServer(hookdhttp.NewServer(store, slog.New(slog.NewTextHandler(io.Discard, nil))))
	defer api.Close()
	res, err := http.Get(api.URL + "/api/v2/admin/webhooks")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(posts) == 0 || posts[0] != "POST /v1/traces application/x-protobuf" {
		t.Fatalf("collector got %q, want a POST /v1/traces", posts)
	}
}

func TestTracingIsOffByDefault(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	if tracing.Enabled("") {
		t.Error("Enabled with nothing configured")
	}
	if !tracing.Enabled("http://127.0.0.1:4318") {
		t.Error("not Enabled with an endpoint")
	}
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
	if !tracing.Enabled("") {
		t.Error("not Enabled with OTEL_EXPORTER_OTLP_ENDPOINT")
	}
	t.Setenv("OTEL_SDK_DISABLED", "true")
	if tracing.Enabled("http://127.0.0.1:4318") {
		t.Error("Enabled with OTEL_SDK_DISABLED=true")
	}
}

// With tracing off, Setup installs the no-op provider: a span records
// nothing and costs at most the context that carries it.
func TestSetupOffCostsNothing(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	shutdown, err := tracing.Setup(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer shutdown(context.Background())
	ctx := context.Background()
	allocs := testing.AllocsPerRun(100, func() {
		_, span := otel.Tracer("hookd").Start(ctx, "span")
		if span.IsRecording() {
			t.Fatal("a span records with tracing off")
		}
		span.End()
	})
	if allocs > 1 {
		t.Errorf("a span with tracing off allocates %v times, want at most 1", allocs)
	}
}

func TestParseEndpoint(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:4318":            "http://127.0.0.1:4318/v1/traces",
		"http://collector:4318/":           "http://collector:4318/v1/traces",
		"https://otel.example/prefix":      "https://otel.example/prefix/v1/traces",
		"https://otel.example/x/v1/traces": "https://otel.example/x/v1/traces",
	} {
		got, err := tracing.ParseEndpoint(in)
		if err != nil || got != want {
			t.Errorf("ParseEndpoint(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"collector:4318", "grpc://x:4317", "http://", "::"} {
		if _, err := tracing.ParseEndpoint(bad); err == nil {
			t.Errorf("ParseEndpoint(%q) accepted", bad)
		}
	}
}
