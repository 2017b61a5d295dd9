// Package metrics exposes hookd's Prometheus metrics: events accepted,
// delivery attempts by outcome and error class, attempt latency, queue
// depth, auto-disabled webhooks, database and HTTP latency.
//
// Labels take values from small fixed sets (outcomes, error classes, the
// operations of statements, route patterns): never a URL, an id or a project.
//
// Metrics implements the narrow observer interfaces of the http and delivery
// packages (http.Observer, delivery.Observer) and the stores' statement
// observer (ObserveQuery, a hookd.QueryObserver that the stores call from
// their database driver); cmd/hookd wires them together.
package metrics

import (
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hookd/hookd"
)

// Outcomes of a delivery attempt, the outcome label.
const (
	OutcomeSuccess = "success" // a 2xx answer: the delivery is done
	OutcomeRetry   = "retry"   // failed, another attempt is scheduled
	OutcomeFailed  = "failed"  // failed for good: the last attempt, or not retryable
)

// classNone is the error_class of a successful attempt.
const classNone = "none"

// classOther stands for an error class this package does not know, so that
// a new class cannot grow the label set without bound.
const classOther = "other"

// errorClasses are the error_class label values: the classes of the failed
// log.
var errorClasses = []string{
	hookd.ClassTimeout, hookd.ClassRefused, hookd.ClassReset, hookd.ClassConnection, hookd.ClassDNS,
	hookd.ClassTLS, hookd.ClassStatus, hookd.ClassRedirect, hookd.ClassTooLarge, hookd.ClassForbidden,
	hookd.ClassGone, hookd.ClassInternal, hookd.ClassInformational, classOther,
}

// Reasons a webhook is disabled by hookd, the reason label.
const (
	ReasonGone    = "gone"    // a receiver answered 410 Gone
	ReasonFailing = "failing" // deliveries failed without a success for --disable-after
)

// Metrics holds hookd's collectors in their own registry.
type Metrics struct {
	reg *prometheus.Registry

	eventsAccepted   prometheus.Counter
	eventsDuplicate  prometheus.Counter
	deliveriesQueued prometheus.Counter
	attempts         *prometheus.CounterVec
	attemptDuration  *prometheus.HistogramVec
	autoDisabled     *prometheus.CounterVec
	circuits         *prometheus.CounterVec
	dbDuration       *prometheus.HistogramVec
	dbErrors         *prometheus.CounterVec
	httpRequests     *prometheus.CounterVec
	httpDuration     *prometheus.HistogramVec

	operations       sync.Map // statement text → Operation, see operation
	cachedOperations atomic.Int64
}

// New returns hookd's metrics, registered with a new registry together
// with the Go runtime and process collectors and hookd_build_info.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	f := factory{reg}
	m := &Metrics{
		reg: reg,
		eventsAccepted: f.counter(prometheus.CounterOpts{
			Name: "hookd_events_accepted_total",
			Help: "Events stored by the intake API (POST /api/v2/events, /events/batch, a webhook's test action); repeats of a stored id are not counted.",
		}),
		eventsDuplicate: f.counter(prometheus.CounterOpts{
			Name: "hookd_events_duplicate_total",
			Help: "Events published again with an id already stored, answered with the original.",
		}),
		deliveriesQueued: f.counter(prometheus.CounterOpts{
			Name: "hookd_deliveries_queued_total",
			Help: "Deliveries queued by accepted events: one per event and matching webhook.",
		}),
		attempts: f.counterVec(prometheus.CounterOpts{
			Name: "hookd_delivery_attempts_total",
			Help: "Delivery attempts by outcome (success, retry, failed: failed for good) and error class (none for a success).",
		}, "outcome", "error_class"),
		attemptDuration: f.histogramVec(prometheus.HistogramOpts{
			Name:    "hookd_delivery_attempt_duration_seconds",
			Help:    "Duration of delivery attempts, from connecting to reading the logged part of the answer, by outcome.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 15, 30, 60},
		}, "outcome"),
		autoDisabled: f.counterVec(prometheus.CounterOpts{
			Name: "hookd_webhooks_auto_disabled_total",
			Help: "Webhooks disabled by hookd, by reason: gone (the receiver answered 410) or failing (no success for --disable-after).",
		}, "reason"),
		circuits: f.counterVec(prometheus.CounterOpts{
			Name: "hookd_circuit_transitions_total",
			Help: "Webhook circuits that this process's attempts opened (again, after a failed probe) or closed, by the state they went to.",
		}, "to"),
		dbDuration: f.histogramVec(prometheus.HistogramOpts{
			Name:    "hookd_db_operation_duration_seconds",
			Help:    "Duration of the statements hookd runs on its database, timed by the driver, by operation: verb and table (select webhooks, update deliveries, ...), begin, commit, rollback, listen.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, "operation"),
		dbErrors: f.counterVec(prometheus.CounterOpts{
			Name: "hookd_db_errors_total",
			Help: "Statements that failed, by operation (constraint refusals answered as not found or conflict, and cancelled calls, are not errors).",
		}, "operation"),
		httpRequests: f.counterVec(prometheus.CounterOpts{
			Name: "hookd_http_requests_total",
			Help: "API requests by method, route pattern and status code.",
		}, "method", "route", "code"),
		httpDuration: f.histogramVec(prometheus.HistogramOpts{
			Name:    "hookd_http_request_duration_seconds",
			Help:    "Duration of API requests by method and route pattern.",
			Buckets: prometheus.DefBuckets,
		}, "method", "route"),
	}
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	buildInfo := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "hookd_build_info",
		Help:        "hookd's version and commit; the value is 1.",
		ConstLabels: prometheus.Labels{"version": hookd.Version, "commit": hookd.Commit, "goversion": runtime.Version()},
	})
	buildInfo.Set(1)
	reg.MustRegister(buildInfo)

	// Series that exist from the start read 0 rather than missing, so rates
	// and alerts work before the first event.
	m.attempts.WithLabelValues(OutcomeSuccess, classNone)
	for _, class := range errorClasses {
		m.attempts.WithLabelValues(OutcomeRetry, class)
		m.attempts.WithLabelValues(OutcomeFailed, class)
	}
	for _, outcome := range []string{OutcomeSuccess, OutcomeRetry, OutcomeFailed} {
		m.attemptDuration.WithLabelValues(outcome)
	}
	m.autoDisabled.WithLabelValues(ReasonGone)
	m.autoDisabled.WithLabelValues(ReasonFailing)
	m.circuits.WithLabelValues(string(hookd.CircuitOpen))
	m.circuits.WithLabelValues(string(hookd.CircuitClosed))
	return m
}

// Registry returns the registry that holds hookd's collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus text format (or
// OpenMetrics, when the scraper asks for it).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{EnableOpenMetrics: true})
}

// EventsPublished counts events stored by the intake API (http.Observer).
func (m *Metrics) EventsPublished(published []hookd.Published) {
	for _, p := range published {
		if p.Duplicate {
			m.eventsDuplicate.Inc()
			continue
		}
		m.eventsAccepted.Inc()
		m.deliveriesQueued.Add(float64(p.Deliveries))
	}
}

// Request counts an API request (http.Observer). route is the pattern the
// request matched, e.g. /api/v2/admin/webhooks/{webhook_id}.
func (m *Metrics) Request(method, route string, status int, elapsed time.Duration) {
	m.httpRequests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	m.httpDuration.WithLabelValues(method, route).Observe(elapsed.Seconds())
}

// Attempt counts a delivery attempt (delivery.Observer).
func (m *Metrics) Attempt(r hookd.AttemptResult) {
	outcome, class := Outcome(r), classNone
	if !r.Success {
		class = knownClass(r.ErrorClass)
	}
	m.attempts.WithLabelValues(outcome, class).Inc()
	m.attemptDuration.WithLabelValues(outcome).Observe(r.Duration.Seconds())
}

// WebhooksDisabled counts webhooks that hookd disabled (delivery.Observer).
func (m *Metrics) WebhooksDisabled(reason string, ids []int64) {
	if reason != ReasonGone {
		reason = ReasonFailing
	}
	m.autoDisabled.WithLabelValues(reason).Add(float64(len(ids)))
}

// Outcome returns the outcome label of an attempt.
func Outcome(r hookd.AttemptResult) string {
	switch r.DeliveryState() {
	case hookd.StateSucceeded:
		return OutcomeSuccess
	case hookd.StatePending:
		return OutcomeRetry
	}
	return OutcomeFailed
}

func knownClass(class string) string {
	for _, c := range errorClasses {
		if c == class {
			return c
		}
	}
	return classOther
}

// factory registers what it makes.
type factory struct{ reg prometheus.Registerer }

func (f factory) counter(o prometheus.CounterOpts) prometheus.Counter {
	c := prometheus.NewCounter(o)
	f.reg.MustRegister(c)
	return c
}

func (f factory) counterVec(o prometheus.CounterOpts, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(o, labels)
	f.reg.MustRegister(c)
	return c
}

func (f factory) histogramVec(o prometheus.HistogramOpts, labels ...string) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(o, labels)
	f.reg.MustRegister(h)
	return h
}
