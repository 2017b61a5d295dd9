// Package storeopt holds the options that both stores (internal/sqlite and
// internal/postgres) take at Open, and their defaults, written once.
package storeopt

import "github.com/hookd/hookd"

// Options are a store's settings.
type Options struct {
	// Clock is where the store reads the current time (default
	// hookd.SystemClock).
	Clock hookd.Clock
	// ObserveQuery, when not nil, is told of every statement the store
	// runs, timed at the driver (metrics).
	ObserveQuery hookd.QueryObserver
	// Circuit is the policy by which Complete opens and closes the
	// webhooks' circuits (default hookd.DefaultCircuitPolicy).
	Circuit hookd.CircuitPolicy
	// ObserveCircuit, when not nil, is told of every circuit that this
	// process's Complete opened or closed, once its transaction committed.
	ObserveCircuit hookd.CircuitObserver
	// FanOutChunk bounds the deliveries one transaction creates (default
	// hookd.FanOutChunk; tests make it small).
	FanOutChunk int
	// LogReplica, when set, is the URL of a read replica of a PostgreSQL
	// store's database that log pages (Store.Log) are read from, so that
	// reading a long history does not load the primary.
	LogReplica string
}

// Option sets one of the Options.
type Option func(*Options)

// WithClock makes the store read the current time from c.
func WithClock(c hookd.Clock) Option { return func(o *Options) { o.Clock = c } }

// WithQueryObserver reports every statement the store runs to observe.
func WithQueryObserver(observe hookd.QueryObserver) Option {
	return func(o *Options) { o.ObserveQuery = observe }
}

// WithCircuitPolicy makes Complete open and close circuits with p; the zero
// policy is the default.
func WithCircuitPolicy(p hookd.CircuitPolicy) Option { return func(o *Options) { o.Circuit = p } }

// WithCircuitObserver tells observe of the circuits Complete opens or
// closes.
func WithCircuitObserver(observe hookd.CircuitObserver) Option {
	return func(o *Options) { o.ObserveCircuit = observe }
}

// WithFanOutChunk makes a transaction create at most n deliveries
// (hookd.PlanFanOut).
func WithFanOutChunk(n int) Option { return func(o *Options) { o.FanOutChunk = n } }

// WithLogReplica makes a PostgreSQL store read log pages from the replica
// at url.
func WithLogReplica(url string) Option { return func(o *Options) { o.LogReplica = url } }

// New returns the options that opts set, with the defaults for the rest.
func New(opts []Option) Options {
	var o Options
	for _, opt := range opts {
		opt(&o)
	}
	if o.Clock == nil {
		o.Clock = hookd.SystemClock
	}
	if o.FanOutChunk <= 0 {
		o.FanOutChunk = hookd.FanOutChunk
	}
	if o.Circuit == (hookd.CircuitPolicy{}) {
		o.Circuit = hookd.DefaultCircuitPolicy
	}
	return o
}
