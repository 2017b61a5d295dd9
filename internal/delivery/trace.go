package delivery

import (
	"context"
	"net/url"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/hookd/hookd"
)

// Tracing uses the global OpenTelemetry tracer provider and propagator,
// which do nothing until cmd/hookd configures them (--otlp-endpoint). Then
// each attempt is a client span, a child of the span that accepted the event
// (the event's stored TraceParent), and the request carries the attempt's
// W3C traceparent header to the receiver.

const tracerName = "github.com/hookd/hookd/internal/delivery"

// startAttemptSpan starts the span of one attempt of dl, under the trace
// stored with its event.
func startAttemptSpan(ctx context.Context, t *hookd.Target, dl *hookd.Delivery) (context.Context, trace.Span) {
	if tp := dl.Event.TraceParent; tp != "" {
		ctx = propagation.TraceContext{}.Extract(ctx, propagation.MapCarrier{"traceparent": tp})
	}
	ctx, span := otel.Tracer(tracerName).Start(ctx, "hookd.deliver "+dl.Event.Event, trace.WithSpanKind(trace.SpanKindClient))
	if !span.IsRecording() {
		return ctx, span // tracing is off: spare every attempt the attributes
	}
	span.SetAttributes(
		attribute.Int64("hookd.delivery.id", dl.ID),
		attribute.Int64("hookd.webhook.id", dl.WebhookID),
		attribute.String("hookd.event.id", dl.Event.ID),
		attribute.String("hookd.event.name", dl.Event.Event),
		attribute.String("hookd.message.id", dl.MessageID),
		attribute.Int("hookd.attempt", dl.Attempts+1),
	)
	if t != nil {
		span.SetAttributes(attribute.String("http.request.method", t.Method), attribute.String("server.address", urlHost(t.URL)))
	}
	return ctx, span
}

// endAttemptSpan records the outcome of r on span.
func endAttemptSpan(span trace.Span, r *hookd.AttemptResult) {
	if !span.IsRecording() {
		return
	}
	if r.HTTPStatus != 0 {
		span.SetAttributes(attribute.Int("http.response.status_code", r.HTTPStatus))
	}
	if r.Success {
		span.SetStatus(codes.Ok, "")
		return
	}
	span.SetAttributes(attribute.String("error.type", r.ErrorClass), attribute.Bool("hookd.retry", r.DeliveryState() == hookd.StatePending))
	span.SetStatus(codes.Error, r.Error)
}

// injectTraceContext adds the trace context of ctx to h (traceparent,
// tracestate) with the global propagator: nothing when tracing is off.
func injectTraceContext(ctx context.Context, h map[string][]string) {
	otel.GetTextMapPropagator().Inject(ctx, propagation.HeaderCarrier(h))
}

// urlHost returns the host of a webhook URL, without its path and query.
func urlHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Host
}
