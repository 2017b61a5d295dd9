// Package http serves hookd's API: MediaPocket V2's admin webhooks API, the
// project registry, API keys, event intake and health checks.
package http

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/api"
	"github.com/hookd/hookd/internal/delivery"
	"github.com/hookd/hookd/internal/intake"
)

// Server is hookd's HTTP API over a Store.
type Server struct {
	store     hookd.Store
	intake    *intake.GroupCommit // PublishEvents of concurrent requests, in shared transactions
	logger    *slog.Logger
	clock     hookd.Clock // the time of records and of the rate limits
	mux       *http.ServeMux
	observer  Observer                // nil: none
	metrics   http.Handler            // GET /metrics; nil: not served
	routeList []Route                 // every route handle registered, in order
	limits    *rateLimits             // nil: no rate limiting (WithRateLimit)
	retention time.Duration           // how long events are kept (WithRetention); 0: forever
	replays   delivery.ReplayObserver // told of the replays cancelled here; nil: none
	keys      *hookd.KeyCache         // what authenticates requests, without a read each
	handoff   hookd.Handoff           // the dispatcher the intake leases deliveries to; nil: none

	// lastTouched throttles writes of api_keys.last_access to one a minute
	// per key, so the intake path does not write on every request.
	lastTouched sync.Map // key id -> time.Time
}

// NewServer returns the API handler for store.
func NewServer(store hookd.Store, logger *slog.Logger, opts ...Option) *Server {
	s := &Server{store: store, logger: logger, clock: hookd.SystemClock, mux: http.NewServeMux()}
	for _, opt := range opts {
		opt(s)
	}
	var published func([]hookd.Published)
	if s.observer != nil {
		published = s.observer.EventsPublished
	}
	s.intake = intake.New(store, published)
	if s.handoff != nil {
		s.intake.HandOffTo(s.handoff)
	}
	s.keys = hookd.NewKeyCache(store, s.clock)
	s.routes()
	return s
}

// Option configures a Server.
type Option func(*Server)

// Observer watches the API's work; metrics.Metrics implements it. Its
// methods must be quick and safe for concurrent use.
type Observer interface {
	// Request is called when a routed request has been answered; route is
	// the pattern it matched (/api/v2/admin/webhooks/{webhook_id}).
	Request(method, route string, status int, elapsed time.Duration)
	// EventsPublished is called with the events the intake stored, once
	// each, whether or not their request was still there to be answered.
	EventsPublished(published []hookd.Published)
}

// WithHandoff has the intake's commits lease deliveries to h's idle
// workers at once (hookd.Handoff): serve gives it the dispatcher of its
// process.
func WithHandoff(h hookd.Handoff) Option { return func(s *Server) { s.handoff = h } }

// WithClock makes the server read the time from c (tests move a
// clocktest.Clock); the default is hookd.SystemClock.
func WithClock(c hookd.Clock) Option { return func(s *Server) { s.clock = c } }

// WithObserver tells o of every request and every event published.
func WithObserver(o Observer) Option { return func(s *Server) { s.observer = o } }

// WithMetrics serves h at GET /metrics, with no key.
func WithMetrics(h http.Handler) Option { return func(s *Server) { s.metrics = h } }

// Route is a method and path pattern the server answers (a ServeMux
// pattern: /api/v2/admin/webhooks/{webhook_id}).
type Route struct {
	Method string
	Path   string
}

// Routes returns every route the server registered, in order: the list
// that the OpenAPI document (openapi.json) is checked against.
func (s *Server) Routes() []Route { return append([]Route(nil), s.routeList...) }

// handlerFunc is an API handler; the error it returns becomes the answer.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// access says who may call a route.
type access int

const (
	public     access = iota // no key: health checks
	anyKey                   // admin or publisher
	adminsOnly               // admin keys
)

func (s *Server) routes() {
	const webhook = "/api/v2/admin/webhooks/{webhook_id}"
	s.handle("GET /healthz", public, s.healthz)
	s.handle("GET /readyz", public, s.readyz)
	s.handle("GET /openapi.json", public, s.openAPI)
	if s.metrics != nil {
		s.handle("GET /metrics", public, func(w http.ResponseWriter, r *http.Request) error {
			s.metrics.ServeHTTP(w, r)
			return nil
		})
	}

	s.handle("GET /api/v2/admin/webhooks", adminsOnly, s.listWebhooks)
	s.handle("POST /api/v2/admin/webhooks", adminsOnly, s.createWebhook)
	s.handle("GET "+webhook, adminsOnly, s.getWebhook)
	s.handle("POST "+webhook, adminsOnly, s.updateWebhook)
	s.handle("DELETE "+webhook, adminsOnly, s.deleteWebhook)
	s.handle("GET "+webhook+"/success", adminsOnly, s.successLog)
	s.handle("GET "+webhook+"/failed", adminsOnly, s.failedLog)
	s.handle("POST "+webhook+"/webhook_headers", adminsOnly, s.addHeader)
	s.handle("POST "+webhook+"/webhook_headers/{header_id}", adminsOnly, s.updateHeader)
	s.handle("DELETE "+webhook+"/webhook_headers/{header_id}", adminsOnly, s.deleteHeader)
	s.handle("POST "+webhook+"/webhook_users", adminsOnly, s.addUser)
	s.handle("DELETE "+webhook+"/webhook_users/{webhook_user_id}", adminsOnly, s.deleteUser)
	s.handle("GET "+webhook+"/secret", adminsOnly, s.getSecret)
	s.handle("POST "+webhook+"/secret/rotate", adminsOnly, s.rotateSecret)
	s.handle("POST "+webhook+"/test", adminsOnly, s.testWebhook)
	s.handle("POST "+webhook+"/retry", adminsOnly, s.retryWebhook)
	s.handle("GET "+webhook+"/settings", adminsOnly, s.getSettings)
	s.handle("POST "+webhook+"/settings", adminsOnly, s.updateSettings)
	s.handle("GET "+webhook+"/circuit", adminsOnly, s.getCircuit)
	s.handle("POST "+webhook+"/replays", adminsOnly, s.createReplay)
	s.handle("GET "+webhook+"/replays", adminsOnly, s.listReplays)
	s.handle("GET "+webhook+"/replays/{replay_id}", adminsOnly, s.replayAction(s.getReplay))
	s.handle("DELETE "+webhook+"/replays/{replay_id}", adminsOnly, s.replayAction(s.cancelReplay))
	s.handle("POST /api/v2/admin/webhooks/retry_failed", adminsOnly, s.retryFailed)
	s.handle("POST "+webhook+"/circuit/probe", adminsOnly, s.probeCircuit)
	s.handle("GET "+webhook+"/stats", adminsOnly, s.webhookStats)
	s.handle("GET "+webhook+"/deliveries", adminsOnly, s.listDeliveries)
	s.handle("GET "+webhook+"/deliveries/{delivery_id}", adminsOnly, s.getDelivery)
	// More specific than {webhook_id}, so GET .../webhooks/stats is this;
	// other methods on it still reach the webhook routes (404: no such id).
	s.handle("GET /api/v2/admin/webhooks/stats", adminsOnly, s.stats)

	s.handle("GET /api/v2/admin/projects", adminsOnly, s.listProjects)
	s.handle("POST /api/v2/admin/projects", adminsOnly, s.createProject)
	s.handle("DELETE /api/v2/admin/projects/{project_id}", adminsOnly, s.deleteProject)
	s.handle("GET /api/v2/projects/{project_id}", anyKey, s.getProject)

	s.handle("POST /api/v2/admin/events/{event_id}/erase", adminsOnly, s.eraseEvent)
	s.handle("POST /api/v2/admin/projects/{project_id}/erase", adminsOnly, s.eraseProject)
	s.handle("POST /api/v2/admin/users/{user_id}/erase", adminsOnly, s.eraseUser)

	s.handle("GET /api/v2/user/api_keys", adminsOnly, s.listAPIKeys)
	s.handle("POST /api/v2/user/api_keys", adminsOnly, s.createAPIKey)
	s.handle("DELETE /api/v2/user/api_keys/{api_key_id}", adminsOnly, s.deleteAPIKey)

	s.handle("POST /api/v2/events", anyKey, s.publishEvent)
	s.handle("POST /api/v2/events/batch", anyKey, s.publishBatch)

	const notification = "/api/v2/admin/notifications/{notification_id}"
	s.handle("GET /api/v2/admin/notifications", adminsOnly, s.listNotifications)
	s.handle("POST /api/v2/admin/notifications", adminsOnly, s.createNotification)
	s.handle("GET "+notification, adminsOnly, s.getNotification)
	s.handle("POST "+notification, adminsOnly, s.updateNotification)
	s.handle("DELETE "+notification, adminsOnly, s.deleteNotification)
	s.handle("GET "+notification+"/secret", adminsOnly, s.getNotificationSecret)
	s.handle("GET "+notification+"/success", adminsOnly, s.notificationSuccessLog)
	s.handle("GET "+notification+"/failed", adminsOnly, s.notificationFailedLog)
}

// handle registers h for pattern ("METHOD /path"). Requests to routes
// that need a key are traced (a server span, continuing the caller's trace
// when it sends a traceparent) and every request is told to the observer.
func (s *Server) handle(pattern string, who access, h handlerFunc) {
	method, path, _ := strings.Cut(pattern, " ")
	s.routeList = append(s.routeList, Route{Method: method, Path: path})
	traced := who != public // health checks and scrapes would drown the traces
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		if method == http.MethodGet {
			// Answers to a key (secrets, payloads, logs) must not be kept
			// by a cache in front of hookd: the key travels in X-API-KEY,
			// which HTTP's rule for Authorization does not cover.
			w.Header().Set("Cache-Control", "no-store")
		}
		sw := &statusWriter{ResponseWriter: w}
		var span trace.Span
		if traced {
			r, span = startServerSpan(r, method, path)
			defer span.End()
		}
		var err error
		// Observed in a defer, so that a request whose handler panics is
		// counted and its span ended, with the 500 it gets.
		defer func() {
			v := recover()
			if v != nil && v != http.ErrAbortHandler {
				s.logger.Error("panic in handler", "method", r.Method, "path", r.URL.Path, "panic", v)
				writeError(sw, http.StatusInternalServerError, "Internal Server Error")
			}
			status := sw.status
			switch {
			case status == 0 && (err != nil || v != nil): // no answer: the client went away, or the handler aborted
				status = StatusClientClosedRequest
			case status == 0:
				status = http.StatusOK
			}
			if traced {
				endServerSpan(span, status)
			}
			if s.observer != nil {
				s.observer.Request(method, path, status, time.Since(start))
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
		}()
		err = s.admit(r, who)
		if err == nil && strings.Contains(path, "{webhook_id}") {
			err = s.customersWebhook(r)
		}
		if err == nil {
			err = h(sw, r)
		}
		if err != nil {
			s.writeErr(sw, r, err)
		}
	})
}

// StatusClientClosedRequest is the status that metrics and traces give a
// request whose client went away before its answer (nginx's 499): it got
// none, and counting it as a 200 would hide it.
const StatusClientClosedRequest = 499

// statusWriter remembers the status code of an answer.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// apiContentSecurityPolicy lets a browser do nothing with an answer of the
// API but read it as data: no script, style or frame, whatever it holds.
const apiContentSecurityPolicy = "default-src 'none'; frame-ancestors 'none'"

// ServeHTTP answers unknown routes and methods in the API's error shape;
// routes turn a panic into a 500 rather than a dropped connection (handle).
// Every answer, errors included, forbids sniffing and carries
// apiContentSecurityPolicy: answers echo what they were sent (a 404 its
// path, a 422 the value refused), "<" included, and a browser opening one
// must not take it for a page.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", apiContentSecurityPolicy)
	if _, pattern := s.mux.Handler(r); pattern == "" {
		s.routeNotFound(w, r)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// routeNotFound tells 404 from 405 the way ServeMux does, but answers JSON.
func (s *Server) routeNotFound(w http.ResponseWriter, r *http.Request) {
	probe := &statusRecorder{header: http.Header{}}
	h, _ := s.mux.Handler(r)
	h.ServeHTTP(probe, r)
	if probe.status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", probe.header.Get("Allow"))
		writeError(w, http.StatusMethodNotAllowed, "Method "+r.Method+" not allowed on "+r.URL.Path)
		return
	}
	writeError(w, http.StatusNotFound, "Not found: "+r.Method+" "+r.URL.Path)
}

// statusRecorder keeps the status and headers ServeMux's fallback handler
// writes and discards its plain-text body.
type statusRecorder struct {
	header http.Header
	status int
}

func (p *statusRecorder) Header() http.Header         { return p.header }
func (p *statusRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (p *statusRecorder) WriteHeader(status int)      { p.status = status }

// writeErr answers err in the API's error shape.
func (s *Server) writeErr(w http.ResponseWriter, r *http.Request, err error) {
	var api *apiError
	var invalid *validationError
	var limited *tooManyRequests
	switch {
	case errors.As(err, &limited):
		limited.write(w)
	case errors.As(err, &api):
		writeError(w, api.status, api.msg)
	case errors.As(err, &invalid):
		writeError(w, http.StatusUnprocessableEntity, invalid.msg)
	case errors.Is(err, hookd.ErrUnavailable):
		s.logger.Warn("database unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "Service unavailable: the database does not answer, try again")
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		// The client went away; nobody reads an answer.
	default:
		s.logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "Internal Server Error")
	}
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, api.Status{Status: "ok"})
	return nil
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	// Ready means able to accept an event: the database must take a
	// write, not merely answer.
	if err := s.store.CheckWrite(ctx); err != nil {
		s.logger.Warn("readiness check failed", "err", err)
		writeError(w, http.StatusServiceUnavailable, "database unavailable")
		return nil
	}
	writeJSON(w, http.StatusOK, api.Status{Status: "ready"})
	return nil
}
