package http

import (
	"context"
	"net/http"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/hookd/hookd"
)

// Tracing uses the global OpenTelemetry tracer provider and propagator,
// which do nothing until cmd/hookd configures them. Then every API request
// (health checks and scrapes aside) is a server span, and the intake stores
// the traceparent of its "hookd.publish" span with each event, so that the
// delivery attempts, made later by any hookd process, join the same trace.

const tracerName = "github.com/hookd/hookd/internal/http"

func tracer() trace.Tracer { return otel.Tracer(tracerName) }

// startServerSpan starts the span of a request, continuing the caller's
// trace when the request carries a traceparent header.
func startServerSpan(r *http.Request, method, route string) (*http.Request, trace.Span) {
	ctx := otel.GetTextMapPropagator().Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	ctx, span := tracer().Start(ctx, method+" "+route, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("http.request.method", method), attribute.String("http.route", route)))
	return r.WithContext(ctx), span
}

func endServerSpan(span trace.Span, status int) {
	if !span.IsRecording() {
		return
	}
	span.SetAttributes(attribute.Int("http.response.status_code", status))
	if status >= 500 {
		span.SetStatus(codes.Error, http.StatusText(status))
	}
}

// traceParent returns the W3C traceparent of the span in ctx, or "" when
// there is none (tracing off).
func traceParent(ctx context.Context) string {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ""
	}
	carrier := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, carrier)
	return carrier["traceparent"]
}

// publish stores events, as published with key, in a "hookd.publish" span
// (storing an event is where it is matched to the webhooks) whose
// traceparent goes with each event. The intake tells the observer of what
// it stored (NewServer), even when ctx ended first.
func (s *Server) publish(ctx context.Context, key *hookd.APIKey, events []*hookd.Event) ([]hookd.Published, error) {
	ctx, span := tracer().Start(ctx, "hookd.publish", trace.WithAttributes(attribute.Int("hookd.events", len(events))))
	defer span.End()
	tp := traceParent(ctx)
	for _, e := range events {
		e.TraceParent, e.PublisherKeyID = tp, key.ID
	}
	published, err := s.intake.Publish(ctx, events)
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
		return nil, err
	}
	if span.IsRecording() {
		deliveries, duplicates := 0, 0
		for _, p := range published {
			deliveries += p.Deliveries
			if p.Duplicate {
				duplicates++
			}
		}
		span.SetAttributes(attribute.Int("hookd.deliveries", deliveries), attribute.Int("hookd.duplicates", duplicates))
		if len(events) == 1 {
			span.SetAttributes(attribute.String("hookd.event.id", published[0].Event.ID),
				attribute.String("hookd.event.name", published[0].Event.Event))
		}
	}
	return published, nil
}

// publishTo stores e for one webhook (the test action) like publish.
func (s *Server) publishTo(ctx context.Context, key *hookd.APIKey, webhookID int64, e *hookd.Event) error {
	ctx, span := tracer().Start(ctx, "hookd.publish", trace.WithAttributes(attribute.Int64("hookd.webhook.id", webhookID),
		attribute.String("hookd.event.name", e.Event)))
	defer span.End()
	e.TraceParent, e.PublisherKeyID = traceParent(ctx), key.ID
	if err := s.store.PublishTo(ctx, webhookID, e); err != nil {
		span.SetStatus(codes.Error, err.Error())
		return err
	}
	if s.observer != nil {
		s.observer.EventsPublished([]hookd.Published{{Event: *e, Deliveries: 1}})
	}
	return nil
}
