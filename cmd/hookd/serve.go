package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/delivery"
	hookdhttp "github.com/hookd/hookd/internal/http"
	"github.com/hookd/hookd/internal/intake"
	"github.com/hookd/hookd/internal/metrics"
	"github.com/hookd/hookd/internal/notify"
	"github.com/hookd/hookd/internal/storedeadline"
	"github.com/hookd/hookd/internal/storeopt"
	"github.com/hookd/hookd/internal/tracing"
	"github.com/hookd/hookd/internal/web"
)

type serveConfig struct {
	fs             *flag.FlagSet // where each setting came from, for errors
	addr           string
	database       *string
	adminAPIKey    string
	allowPrivate   string
	retrySchedule  string
	concurrency    int
	maxConns       int
	timeout        time.Duration
	lease          time.Duration
	leaseMargin    time.Duration
	retention      time.Duration
	payloadKeep    time.Duration
	logDatabase    string
	disableAfter   time.Duration
	maintainEvery  time.Duration
	shutdownGrace  time.Duration
	dbTimeout      time.Duration
	log            *logConfig
	otlpEndpoint   string
	notifyURLs     string
	notifyDebounce time.Duration
	metrics        bool
	rateLimit      hookdhttp.RateLimit
	circuit        hookd.CircuitPolicy
}

func serve(ctx context.Context, args []string, stderr io.Writer) error {
	fs := newFlagSet("serve", stderr)
	c := serveFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	return c.run(ctx, stderr)
}

// serveFlags defines the settings of serve on fs. Each is also read from
// the config file (--config) and the environment (HOOKD_ and the name).
func serveFlags(fs *flag.FlagSet) *serveConfig {
	c := &serveConfig{fs: fs, database: databaseFlag(fs), log: logFlags(fs)}
	configFlag(fs)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "address to listen on")
	fs.StringVar(&c.adminAPIKey, "admin-api-key", "", "an admin key of your choosing, <prefix>.<secret> with a secret of 24+ characters, registered at start; it revokes the one it replaced")
	fs.StringVar(&c.allowPrivate, "allow-private", "", "comma-separated CIDRs that deliveries may reach although private or loopback, e.g. 127.0.0.0/8")
	fs.StringVar(&c.retrySchedule, "retry-schedule", delivery.DefaultScheduleString, "delays between attempts, comma-separated Go durations (±20% jitter)")
	fs.IntVar(&c.concurrency, "concurrency", delivery.DefaultConcurrency, "attempts sent at once")
	fs.IntVar(&c.maxConns, "max-connections", 0, "API connections open at once; at the cap, a new one replaces the one that waited longest without sending a request (0: the open-file limit less 3 × --concurrency and 256, at most 10000)")
	fs.DurationVar(&c.timeout, "timeout", delivery.DefaultTimeout, "timeout of one delivery attempt")
	fs.DurationVar(&c.lease, "lease", delivery.DefaultLease, "how long a claimed delivery stays with this process; after a crash another process (or a restart) takes it over after this (at least --timeout + --lease-margin)")
	fs.DurationVar(&c.leaseMargin, "lease-margin", delivery.DefaultLeaseMargin, "the part of --lease beyond --timeout: the time to read a claim's webhooks and to record its attempts")
	fs.DurationVar(&c.retention, "retention", 30*24*time.Hour, "how long attempt logs, finished deliveries and events are kept")
	fs.StringVar(&c.logDatabase, "log-database", "", "a postgres:// URL of a read replica of --database that the log pages are read from (PostgreSQL only; empty: --database)")
	fs.DurationVar(&c.payloadKeep, "payload-retention", 0, "how long event data and logged response bodies are kept, their metadata kept for --retention (0: as long as --retention)")
	fs.DurationVar(&c.disableAfter, "disable-after", 5*24*time.Hour, "disable a webhook whose deliveries keep failing this long (0: never)")
	fs.DurationVar(&c.maintainEvery, "maintenance-interval", 10*time.Minute, "how often retention and auto-disable run")
	fs.DurationVar(&c.shutdownGrace, "shutdown-grace", 0, "how long in-flight requests and attempts may take to finish on SIGTERM; attempts cut off then are not counted and are retried (0: --timeout + 5s)")
	fs.DurationVar(&c.dbTimeout, "database-timeout", storedeadline.DefaultTimeout, "how long one database call may take: beyond, the API answers 503 with Retry-After and delivery tries again (retention and auto-disable may take up to 10m)")
	fs.StringVar(&c.otlpEndpoint, "otlp-endpoint", "", "send OpenTelemetry traces to this OTLP/HTTP collector, e.g. http://127.0.0.1:4318 (also on with OTEL_EXPORTER_OTLP_ENDPOINT; off when neither is set)")
	fs.BoolVar(&c.metrics, "metrics", true, "serve Prometheus metrics at /metrics")
	fs.Float64Var(&c.rateLimit.PerSecond, "rate-limit", hookdhttp.DefaultRateLimit, "API requests a second per API key; beyond, 429 with Retry-After (0: no limit)")
	fs.Float64Var(&c.rateLimit.FailuresPerSecond, "auth-failure-limit", hookdhttp.DefaultFailureLimit, "failed authentications a second per client address (a missing, malformed, unknown or wrong key); beyond, 429 with Retry-After (0: no limit)")
	fs.IntVar(&c.rateLimit.FailureBurst, "auth-failure-burst", hookdhttp.DefaultFailureBurst, "failed authentications per client address at once, above --auth-failure-limit")
	fs.IntVar(&c.circuit.Failures, "circuit-failures", hookd.DefaultCircuitFailures, "failed attempts in a row (timeouts, connection errors, 5xx, 408, 429) that open a webhook's circuit: its deliveries wait, then one probe goes out (0: never open)")
	fs.DurationVar(&c.circuit.Cooldown, "circuit-cooldown", hookd.DefaultCircuitCooldown, "how long an open circuit waits before its probe; doubled each time the probe fails")
	fs.DurationVar(&c.circuit.MaxCooldown, "circuit-max-cooldown", hookd.DefaultCircuitMaxCooldown, "the longest wait of an open circuit")
	fs.IntVar(&c.rateLimit.Burst, "rate-limit-burst", hookdhttp.DefaultRateBurst, "API requests per API key at once, above --rate-limit")
	fs.StringVar(&c.notifyURLs, "notify-urls", "", "comma-separated URLs of your own that get every operational notification (webhook disabled, circuit opened or closed, delivery failed for good, replay finished); subscribed at start when missing")
	fs.DurationVar(&c.notifyDebounce, "notify-debounce", hookd.DefaultNotifyDebounce, "after an operational notification, how long the same kind about the same webhook is held back (and counted)")
	return c
}

// invalid is the error for serve's setting, named as the user gave it.
func (c *serveConfig) invalid(setting, problem string) error {
	return invalidSetting(c.fs, setting, problem)
}

// grace is --shutdown-grace, or when it is 0 (the default), --timeout + 5s:
// long enough for an attempt that has just begun to finish.
func (c *serveConfig) grace() time.Duration {
	if c.shutdownGrace == 0 {
		return c.timeout + 5*time.Second
	}
	return c.shutdownGrace
}

func (c *serveConfig) run(ctx context.Context, stderr io.Writer) error {
	logger, err := c.log.logger(stderr)
	if err != nil {
		return err
	}
	if c.adminAPIKey != "" {
		if _, _, err := hookd.ParseBootstrapKey(c.adminAPIKey); err != nil {
			return c.invalid("admin-api-key", err.Error()) // never the key itself
		}
	}
	allow, err := delivery.ParseAllowList(c.allowPrivate)
	if err != nil {
		return c.invalid("allow-private", strings.TrimPrefix(err.Error(), "allow-private: "))
	}
	schedule, err := delivery.ParseSchedule(c.retrySchedule)
	if err != nil {
		return c.invalid("retry-schedule", strings.TrimPrefix(err.Error(), "retry schedule: "))
	}
	for _, bad := range []struct {
		setting string
		wrong   bool
		problem string
	}{
		{"addr", strings.TrimSpace(c.addr) == "", "use host:port, e.g. 127.0.0.1:8080 or :8080 (empty would listen on every interface, on a random port)"},
		{"concurrency", c.concurrency < 1 || c.concurrency > 10000, "use 1 to 10000"},
		{"max-connections", c.maxConns < 0, "use 1 or more, or 0 for the default"},
		{"timeout", c.timeout < time.Second, "use at least 1s"},
		{"lease-margin", c.leaseMargin < time.Second, "use at least 1s"},
		{"database-timeout", c.dbTimeout < 100*time.Millisecond, "use at least 100ms"},
		{"lease", c.lease < c.timeout+c.leaseMargin, fmt.Sprintf("use at least %s + %s (%s)",
			settingName(c.fs, "timeout"), settingName(c.fs, "lease-margin"), c.timeout+c.leaseMargin)},
		{"retention", c.retention < time.Hour, "use at least 1h"},
		{"log-database", c.logDatabase != "" && (!isPostgres(c.logDatabase) || !isPostgres(*c.database)),
			"use a postgres:// URL, with a postgres:// " + settingName(c.fs, "database")},
		{"payload-retention", c.payloadKeep != 0 && (c.payloadKeep < time.Hour || c.payloadKeep > c.retention),
			"use 0, or 1h up to " + settingName(c.fs, "retention")},
		{"maintenance-interval", c.maintainEvery < time.Second, "use at least 1s"},
		{"disable-after", c.disableAfter < 0, "use 0 (never) or more"},
		{"notify-debounce", c.notifyDebounce < 0, "use 0 (no debounce) or more"},
		{"shutdown-grace", c.shutdownGrace < 0, "use 0 (the default) or more"},
		{"rate-limit", !(c.rateLimit.PerSecond >= 0) || math.IsInf(c.rateLimit.PerSecond, 0), "use 0 (no limit) or more"},
		{"rate-limit-burst", c.rateLimit.PerSecond > 0 && c.rateLimit.Burst < 1, "use at least 1"},
		{"auth-failure-limit", !(c.rateLimit.FailuresPerSecond >= 0) || math.IsInf(c.rateLimit.FailuresPerSecond, 0), "use 0 (no limit) or more"},
		{"auth-failure-burst", c.rateLimit.FailuresPerSecond > 0 && c.rateLimit.FailureBurst < 1, "use at least 1"},
	} {
		if bad.wrong {
			return c.invalid(bad.setting, bad.problem)
		}
	}
	if err := c.circuit.Validate(); err != nil {
		setting := "circuit-max-cooldown"
		if c.circuit.Failures < 0 {
			setting = "circuit-failures"
		} else if c.circuit.Cooldown < time.Second {
			setting = "circuit-cooldown"
		}
		_, problem, _ := strings.Cut(err.Error(), ": ") // after Validate's own name of the setting
		return c.invalid(setting, problem)
	}
	c.shutdownGrace = c.grace()
	if c.otlpEndpoint != "" {
		if _, err := tracing.ParseEndpoint(c.otlpEndpoint); err != nil {
			return c.invalid("otlp-endpoint", err.Error())
		}
	}

	notifyURLs, err := parseNotifyURLs(c.notifyURLs)
	if err != nil {
		return c.invalid("notify-urls", err.Error())
	}
	maxConns, err := c.maxConnections()
	if err != nil {
		return err
	}
	// Listening first finds a bad --addr (or one in use) before the
	// database is created and migrated.
	tcp, err := net.Listen("tcp", c.addr)
	if err != nil {
		return fmt.Errorf("cannot listen on --addr %s: %v (give host:port, e.g. 127.0.0.1:8080 or :8080, with a port that is free)", c.addr, err)
	}
	defer tcp.Close()

	// Metrics time the store's statements at its driver, so they exist
	// before it opens.
	var m *metrics.Metrics
	var observe hookd.QueryObserver
	if c.metrics {
		m = metrics.New()
		observe = m.ObserveQuery
	}
	// The store, the dispatcher and the API read the time from one clock.
	clock := hookd.SystemClock
	notifier := notify.New(clock, c.notifyDebounce, logger)
	// A signal before the service runs stops it quietly: what failed then
	// failed because it was interrupted, not because of the database.
	interrupted := func(err error) error {
		if ctx.Err() != nil {
			logger.Info("stopped before start: interrupted while starting")
			return nil
		}
		return err
	}
	// Connecting is bounded (connectTimeout), so that a database that takes
	// connections and never answers stops the start with an error; the
	// migrations, once connected, are not: they may take long on a big
	// database, and cutting one off would only make the next start redo it.
	store, err := openStoreWithin(ctx, *c.database, connectTimeout(c.dbTimeout), storeopt.WithClock(clock), storeopt.WithQueryObserver(observe),
		storeopt.WithCircuitPolicy(c.circuit), storeopt.WithCircuitObserver(circuitObserver(logger, m, notifier)),
		storeopt.WithLogReplica(c.logDatabase))
	if err != nil {
		return interrupted(err) // one line that names the database
	}
	outbox, _ := store.(hookd.Outbox) // PostgreSQL's; SQLite has none
	store = storedeadline.Wrap(store, c.dbTimeout)
	defer store.Close()
	stopTracing, err := tracing.Setup(ctx, c.otlpEndpoint)
	if err != nil {
		return interrupted(err)
	}
	defer func() {
		flushCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := stopTracing(flushCtx); err != nil {
			logger.Warn("flushing traces", "err", err)
		}
	}()
	if tracing.Enabled(c.otlpEndpoint) {
		logger.Info("tracing on: exporting spans over OTLP/HTTP")
	}
	if err := bootstrapAdminKey(ctx, store, c.adminAPIKey, settingName(c.fs, "admin-api-key"), logger); err != nil {
		return interrupted(err)
	}
	if err := subscribeNotifyURLs(ctx, store, notifyURLs, logger); err != nil {
		return interrupted(err)
	}

	svc, err := newService(store, serviceOptions{
		logger: logger, allowPrivate: allow, schedule: schedule, concurrency: c.concurrency,
		timeout: c.timeout, lease: c.lease, leaseMargin: c.leaseMargin, shutdownGrace: c.shutdownGrace,
		clock: clock, metrics: m, rateLimit: c.rateLimit, retention: c.retention, notifier: notifier,
	})
	if err != nil {
		return err
	}
	dispatcher, srv := svc.dispatcher, svc.server

	ln := limitConnections(tcp, srv, maxConns, logger, clock)
	logger.Info("hookd listening", "addr", ln.Addr().String(), "database", redact(*c.database), "version", hookd.Version,
		"max_connections", maxConns)

	workCtx, stopWork := context.WithCancel(context.Background())
	defer stopWork()
	dispatched := make(chan error, 1)
	go func() { dispatched <- dispatcher.Run(workCtx) }()
	go dispatcher.Maintain(workCtx, c.maintainEvery, delivery.Retention{History: c.retention, Payloads: c.payloadKeep}, c.disableAfter)
	go notifier.Run(workCtx, store)
	go dispatcher.Replays(workCtx, delivery.DefaultReplayInterval)
	if outbox != nil {
		if schema, err := outbox.OutboxSchema(ctx); err == nil {
			logger.Info("outbox relay on: platforms may publish with hookd_publish in their transactions", "schema", schema)
		}
		relay := &intake.Relay{Outbox: outbox, Check: hookdhttp.OutboxEvent, Logger: logger}
		if m != nil {
			relay.Observer = func(r hookd.OutboxRelayed) { m.EventsPublished(r.Published) }
		}
		go relay.Run(workCtx)
	}

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	dispatcherDone := false
	select {
	case err = <-serveErr:
	case err = <-dispatched:
		dispatcherDone = true
		err = fmt.Errorf("delivery stopped: %w", err)
	case <-ctx.Done():
	}
	// Stop claiming deliveries and taking requests at once, under one
	// deadline: requests and attempts in flight finish within the grace
	// period together (the dispatcher cuts its attempts off at the same
	// time as the server gives up); deliveries not started stay queued.
	logger.Info("shutting down", "grace", c.shutdownGrace)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), c.shutdownGrace)
	defer cancel()
	stopWork()
	// Requests still running when the grace ends are cut off, as attempts
	// are: that is how a graceful stop ends, not an error.
	if shutdownErr := srv.Shutdown(shutdownCtx); errors.Is(shutdownErr, context.DeadlineExceeded) {
		logger.Warn("shutdown grace period over: closing the connections of requests still running", "grace", c.shutdownGrace)
		srv.Close()
	} else if shutdownErr != nil && err == nil {
		err = shutdownErr
	}
	if !dispatcherDone {
		if runErr := <-dispatched; runErr != nil && err == nil {
			err = runErr
		}
	}
	return err
}

// maxConnections is --max-connections, or when it is 0 (the default),
// defaultMaxConnections of the process's open-file limit.
func (c *serveConfig) maxConnections() (int, error) {
	if c.maxConns != 0 {
		return c.maxConns, nil
	}
	nofile, err := openFileLimit()
	if err != nil {
		return 0, fmt.Errorf("reading the open-file limit for --max-connections (set it to skip this): %w", err)
	}
	return defaultMaxConnections(nofile, c.concurrency), nil
}

// circuitObserver logs one line for each circuit that opens or closes and
// counts it in m (when not nil).
func circuitObserver(logger *slog.Logger, m *metrics.Metrics, n *notify.Notifier) hookd.CircuitObserver {
	return func(change hookd.CircuitChange) {
		c := change.Circuit
		if c.State == hookd.CircuitOpen {
			logger.Warn("circuit opened: the webhook's deliveries wait for a probe", "webhook", change.WebhookID,
				"failures", c.Failures, "opens", c.Opens, "probe_at", *c.ProbeAt)
		} else {
			logger.Info("circuit closed: the webhook's deliveries go out again", "webhook", change.WebhookID)
		}
		if m != nil {
			m.CircuitChanged(change)
		}
		n.CircuitChanged(change)
	}
}

// serviceOptions are the settings of hookd's delivery and API that serve
// and bench share.
type serviceOptions struct {
	logger        *slog.Logger
	allowPrivate  []netip.Prefix
	schedule      []time.Duration
	concurrency   int
	timeout       time.Duration
	lease         time.Duration
	leaseMargin   time.Duration // zero: delivery.DefaultLeaseMargin
	shutdownGrace time.Duration
	clock         hookd.Clock // the store's: the dispatcher and the API read it too
	// metrics, when set, counts attempts, events and requests, reads the
	// queue gauges from the store, and is served at /metrics; it times the
	// store's statements when the store was opened with its ObserveQuery.
	metrics *metrics.Metrics
	// rateLimit limits the API's callers (zero: no limit).
	rateLimit hookdhttp.RateLimit
	// retention is how long events are kept: what a replay can reach.
	retention time.Duration
	// httpLimits bound slow and large requests (zero fields: the defaults).
	httpLimits httpLimits
	// notifier, when set, is told of the dispatcher's incidents.
	notifier *notify.Notifier
}

// service is hookd in a process: the delivery dispatcher and the HTTP
// server of the API (and the admin UI), over one store. The caller runs
// them (dispatcher.Run, server.Serve) and stops them.
type service struct {
	store      hookd.Store
	sender     *delivery.Sender
	dispatcher *delivery.Dispatcher
	server     *http.Server
}

// newService builds hookd's dispatcher and HTTP server over store, as
// serve runs them; bench runs the same in its own process.
func newService(store hookd.Store, o serviceOptions) (*service, error) {
	sender := delivery.NewSender(delivery.SenderConfig{
		Timeout: o.timeout, Concurrency: o.concurrency, AllowPrivate: o.allowPrivate,
	})
	var observer observers
	var apiOptions []hookdhttp.Option
	var replays delivery.ReplayObserver
	if o.notifier != nil {
		observer = append(observer, o.notifier)
		replays = replayNotifier{o.notifier}
		apiOptions = append(apiOptions, hookdhttp.WithReplayObserver(replays))
	}
	if o.metrics != nil {
		o.metrics.WatchQueue(store, 0)
		observer = append(observer, o.metrics)
		apiOptions = append(apiOptions, hookdhttp.WithObserver(o.metrics), hookdhttp.WithMetrics(o.metrics.Handler()))
	}
	dispatcher, err := delivery.New(delivery.Config{
		Store: store, Sender: sender, Policy: delivery.NewPolicy(o.schedule),
		Clock: o.clock, Concurrency: o.concurrency, Lease: o.lease, LeaseMargin: o.leaseMargin,
		ShutdownGrace: o.shutdownGrace, Logger: o.logger,
		Observer: observer, ReplayObserver: replays,
	})
	if err != nil {
		return nil, err
	}
	apiOptions = append(apiOptions, hookdhttp.WithClock(o.clock), hookdhttp.WithRateLimit(o.rateLimit),
		hookdhttp.WithRetention(o.retention), hookdhttp.WithHandoff(dispatcher))
	// The admin UI owns "/" and "/assets/"; every other path is the API's.
	srv := newHTTPServer(web.Mount(hookdhttp.NewServer(store, o.logger, apiOptions...)), o.logger, o.httpLimits)
	return &service{store: store, sender: sender, dispatcher: dispatcher, server: srv}, nil
}

// replayNotifier sends the replay.finished notification of each replay
// that finished or was cancelled, with the replay as the API shows it.
type replayNotifier struct{ n *notify.Notifier }

func (r replayNotifier) ReplayFinished(replay *hookd.Replay) {
	r.n.ReplayFinished(replay.WebhookID, strconv.FormatInt(replay.ID, 10), hookdhttp.APIReplay(replay))
}

// redact hides a password in a database URL.
func redact(database string) string {
	u, err := url.Parse(database)
	if err != nil || u.User == nil {
		return database
	}
	return u.Redacted()
}
