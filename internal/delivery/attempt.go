package delivery

import (
	"context"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/hookd/hookd"
)

// attempt sends dl to t, has the policy decide what follows, and returns
// the result to record. The attempt is a span of the event's trace (when
// tracing is on), is told to the observer and logs one line: at debug level
// for a success, at info for a failure.
//
// It returns false, with nothing sent or recorded, when the webhook was
// disabled (or deleted) between the claim and reading its target: the
// store does not claim a disabled webhook's deliveries, which wait until it
// is enabled again, so this one is left to its lease, and is not claimed
// again while the webhook stays disabled. A deleted webhook's deliveries
// are deleted with it.
//
// It also returns false for an attempt that failed after ctx was cancelled: Run
// cancels it at the end of its shutdown grace, and hookd stopping is no
// fault of the receiver's, so the result is not recorded (it would count
// against the delivery's attempts). The delivery stays leased and is
// claimed again when the lease expires.
func (d *Dispatcher) attempt(ctx context.Context, t *hookd.Target, dl *hookd.Delivery) (hookd.AttemptResult, bool) {
	if t == nil || t.Disabled {
		d.log.Debug("delivery not sent: its webhook was disabled or deleted after the claim",
			"delivery", dl.ID, "webhook", dl.WebhookID)
		return hookd.AttemptResult{}, false
	}
	ctx, span := startAttemptSpan(ctx, t, dl)
	defer span.End()
	at := d.clock.Now()
	o := d.sender.Send(ctx, t, dl, at)
	r := decide(d.policy, dl, at, &o)
	if !r.Success && ctx.Err() != nil {
		d.log.Info("delivery attempt cancelled at shutdown: not recorded, the delivery is attempted again after its lease",
			"delivery", dl.ID, "webhook", dl.WebhookID, "attempt", r.Attempt)
		return r, false
	}
	endAttemptSpan(span, &r)
	if d.observer != nil {
		d.observer.Attempt(r) // a webhook it disables is told once recorded (completer.complete)
	}
	d.logAttempt(ctx, t, dl, &r, o.NotSent)
	return r, true
}

// decide is the result to record of attempt o of dl, made at time at, with
// p's decision on what follows. The retry's delay and the Retry-After it
// honours both count from o.End, one instant on the clock's time line.
func decide(p *Policy, dl *hookd.Delivery, at time.Time, o *Outcome) hookd.AttemptResult {
	r := hookd.AttemptResult{
		DeliveryID:     dl.ID,
		WebhookID:      dl.WebhookID,
		Attempt:        dl.Attempts + 1,
		At:             at,
		Success:        o.Success,
		HTTPStatus:     o.HTTPStatus,
		Duration:       o.Duration,
		ErrorClass:     o.ErrorClass,
		Error:          o.Error,
		RequestHeaders: o.RequestHeaders,
		ResponseBody:   o.ResponseBody,
		Ordered:        dl.Ordered,
	}
	p.Apply(&r, o.RetryAfter, o.End)
	return r
}

// logAttempt logs one line for an attempt. It names the receiver by its
// host only (a URL's path or query may hold a token) and never logs header
// values or the body. A success is logged at info level, not debug, when
// some of the webhook's headers were not sent (notSent names them), so
// that the admin learns to remove them.
func (d *Dispatcher) logAttempt(ctx context.Context, t *hookd.Target, dl *hookd.Delivery, r *hookd.AttemptResult, notSent []string) {
	level, msg := slog.LevelDebug, "delivery attempt"
	switch {
	case !r.Success:
		level, msg = slog.LevelInfo, "delivery attempt failed"
	case len(notSent) > 0:
		level = slog.LevelInfo
	}
	if !d.log.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.Int64("delivery", dl.ID), slog.Int64("webhook", dl.WebhookID), slog.String("event", dl.Event.Event),
		slog.String("message_id", dl.MessageID), slog.Int("attempt", r.Attempt),
	}
	if t != nil {
		attrs = append(attrs, slog.String("method", t.Method), slog.String("host", urlHost(t.URL)))
	}
	attrs = append(attrs, slog.Int("status", r.HTTPStatus), slog.Duration("duration", r.Duration))
	if len(notSent) > 0 {
		attrs = append(attrs, slog.Any("reserved_headers_not_sent", notSent))
	}
	if !r.Success {
		attrs = append(attrs, slog.String("class", r.ErrorClass), slog.String("err", r.Error))
		if r.DeliveryState() == hookd.StatePending {
			attrs = append(attrs, slog.Time("retry_at", *r.NextAttemptAt))
		} else {
			attrs = append(attrs, slog.Bool("final", true))
		}
		if r.DisableWebhook {
			attrs = append(attrs, slog.Bool("disable_webhook", true))
		}
	}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		attrs = append(attrs, slog.String("trace_id", sc.TraceID().String()))
	}
	d.log.LogAttrs(ctx, level, msg, attrs...)
}
