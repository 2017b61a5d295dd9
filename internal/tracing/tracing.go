// Package tracing turns on OpenTelemetry tracing for hookd: an OTLP/HTTP
// exporter, the W3C trace context propagator, and the global tracer
// provider that the http and delivery packages use.
//
// Tracing is off unless an endpoint is configured, by --otlp-endpoint
// (HOOKD_OTLP_ENDPOINT) or the standard OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT; OTEL_SDK_DISABLED=true or
// OTEL_TRACES_EXPORTER=none keep it off. The other standard variables apply
// (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER,
// OTEL_EXPORTER_OTLP_HEADERS, ...).
//
// With tracing on, a request to the API is a server span (continuing the
// publisher's trace when it sends a traceparent header), storing events is a
// "hookd.publish" span whose traceparent is kept with each event, and each
// delivery attempt is a client span, a child of it, whose traceparent the
// receiver gets.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/hookd/hookd"
)

// Enabled reports whether tracing is configured: endpoint (the flag) is set,
// or the standard OTLP endpoint variables are, and the SDK is not disabled.
func Enabled(endpoint string) bool {
	if strings.EqualFold(os.Getenv("OTEL_SDK_DISABLED"), "true") || strings.EqualFold(os.Getenv("OTEL_TRACES_EXPORTER"), "none") {
		return false
	}
	return endpoint != "" || os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// ParseEndpoint checks an --otlp-endpoint value, the base URL of an OTLP/HTTP
// collector (http://collector:4318), and returns the URL traces are sent to:
// the base with /v1/traces appended, as for OTEL_EXPORTER_OTLP_ENDPOINT.
func ParseEndpoint(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", errors.New("use the base URL of an OTLP/HTTP collector, e.g. http://127.0.0.1:4318")
	}
	if !strings.HasSuffix(u.Path, "/v1/traces") {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/v1/traces"
	}
	return u.String(), nil
}

// Setup turns tracing on when Enabled(endpoint): it installs a tracer
// provider exporting in batches to the collector, and the W3C trace
// context propagator. It returns a function that flushes and stops the
// exporter, to call at shutdown; with tracing off it calls Off and the
// function does nothing.
func Setup(ctx context.Context, endpoint string) (shutdown func(context.Context) error, err error) {
	noop := func(context.Context) error { return nil }
	if !Enabled(endpoint) {
		Off()
		return noop, nil
	}
	var opts []otlptracehttp.Option
	if endpoint != "" {
		target, err := ParseEndpoint(endpoint)
		if err != nil {
			return noop, fmt.Errorf("invalid --otlp-endpoint %q: %w", endpoint, err)
		}
		opts = append(opts, otlptracehttp.WithEndpointURL(target))
	}
	exporter, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return noop, fmt.Errorf("tracing: %w", err)
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(
			attribute.String("service.name", "hookd"),
			attribute.String("service.version", hookd.Version),
		),
		resource.WithFromEnv(), // OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES win
		resource.WithHost(),
	)
	if err != nil {
		return noop, fmt.Errorf("tracing: %w", err)
	}
	// The sampler comes from OTEL_TRACES_SAMPLER when set; by default every
	// trace is kept, and a publisher's sampling decision is followed.
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res))
	Install(tp)
	return tp.Shutdown, nil
}

// Off makes the global tracer provider the no-op one, for tracing off. The
// default one would do too, but it delegates to a provider installed later,
// and its spans cost every request and attempt a few allocations (about
// 3 % of hookd's CPU at full speed).
func Off() { otel.SetTracerProvider(tracenoop.NewTracerProvider()) }

// Install makes tp the global tracer provider and the W3C trace context
// (traceparent, tracestate) the global propagator. Tests use it with an
// in-memory recorder.
func Install(tp trace.TracerProvider) {
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
}
