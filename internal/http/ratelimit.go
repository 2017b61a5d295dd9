package http

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// RateLimit limits how fast the API may be called: each API key gets
// PerSecond requests a second with bursts of Burst, and each client address
// FailuresPerSecond failed authentications (a missing, malformed, unknown
// or wrong key) with bursts of FailureBurst, so a client cannot guess keys
// or hammer the database with bad ones. A request over either limit is
// answered 429 with Retry-After before its handler runs, so it changes
// nothing; a key in use is not refused for the failures of its address
// (see admit). Health checks and unknown routes are not
// limited.
type RateLimit struct {
	// PerSecond is the sustained requests a second per API key; 0 or less
	// leaves keys unlimited.
	PerSecond float64
	// Burst is how many requests a key may make at once (at least 1).
	Burst int
	// FailuresPerSecond is the sustained failed authentications a second
	// per client address; 0 or less leaves failures unlimited.
	FailuresPerSecond float64
	// FailureBurst is how many may fail at once (at least 1).
	FailureBurst int
}

// The defaults of hookd serve. A key's budget is a platform's intake, one
// event a request (10,000 a second, twice that at once, with room to
// spare): it only stops a runaway client. Failures are a few a second, as
// only a client without a valid key fails.
const (
	DefaultRateLimit    = 20000
	DefaultRateBurst    = 40000
	DefaultFailureLimit = 10
	DefaultFailureBurst = 20
)

// DefaultRateLimits are the defaults together.
var DefaultRateLimits = RateLimit{PerSecond: DefaultRateLimit, Burst: DefaultRateBurst,
	FailuresPerSecond: DefaultFailureLimit, FailureBurst: DefaultFailureBurst}

// maxTrackedAddresses bounds the client addresses with a failure limiter.
// Past it the least useful entries go: those idle long enough to have
// refilled (which lose nothing), then arbitrary ones.
const maxTrackedAddresses = 10000

// WithRateLimit limits the API's callers (see RateLimit). Without it,
// nothing is limited.
func WithRateLimit(rl RateLimit) Option {
	return func(s *Server) {
		s.limits = nil
		if rl.PerSecond <= 0 && rl.FailuresPerSecond <= 0 {
			return
		}
		rl.Burst, rl.FailureBurst = max(rl.Burst, 1), max(rl.FailureBurst, 1)
		s.limits = &rateLimits{config: rl}
		if rl.PerSecond > 0 {
			s.limits.keys = newLimiterSet(rate.Limit(rl.PerSecond), rl.Burst, 0)
		}
		if rl.FailuresPerSecond > 0 {
			s.limits.failures = newLimiterSet(rate.Limit(rl.FailuresPerSecond), rl.FailureBurst, maxTrackedAddresses)
		}
	}
}

// rateLimits are the Server's limiters.
type rateLimits struct {
	config   RateLimit
	keys     *limiterSet // by API key prefix; nil: unlimited
	failures *limiterSet // failed authentications, by client address; nil: unlimited
}

// tooManyRequests is a 429 answer; Retry-After says when to try again.
type tooManyRequests struct {
	retryAfter time.Duration
	msg        string
}

func (e *tooManyRequests) Error() string { return e.msg }

// retryAfterSeconds is the Retry-After value for a wait: whole seconds,
// rounded up, at least 1.
func retryAfterSeconds(wait time.Duration) string {
	return strconv.FormatInt(max(1, int64(math.Ceil(wait.Seconds()))), 10)
}

func (e *tooManyRequests) write(w http.ResponseWriter) {
	w.Header().Set("Retry-After", retryAfterSeconds(e.retryAfter))
	writeError(w, http.StatusTooManyRequests, e.msg)
}

// admit authenticates r for a route of access who and applies the rate
// limits around it.
//
// Only a request whose key does not authenticate spends its address's
// failure budget, and past the budget it is answered 429 rather than 401:
// key guessing stays limited per address (a key's secret is 32 random
// bytes besides, beyond guessing).
//
// A request from an address past its budget is answered 429 without its
// key being looked up, unless the key cache holds its prefix
// (hookd.KeyCache.Holds: a stored key this process has read). So an address
// spraying made-up keys costs no lookup once over its budget, while a key
// in use behind the same address (a proxy or load balancer makes every
// client one address) is checked and served as ever; a guessed secret for
// a held prefix costs what a check costs (memory, and a read of that one
// key a second at most) and then its 429. A key this process has not read
// yet waits, behind a spraying address, for the budget to refill. An
// address within its budget is checked first, then charged for a failure.
//
// An authenticated request spends its key's budget, whatever its route, so
// a valid key of the wrong role (a publisher on an admin route) is limited
// too, by its key rather than its address.
func (s *Server) admit(r *http.Request, who access) error {
	if who == public {
		return nil
	}
	l := s.limits
	now := s.clock.Now()
	c := requestCredentials(r)
	failuresLimited := l != nil && l.failures != nil
	var address string
	if failuresLimited {
		address = clientAddress(r)
		if wait := l.failures.wait(address, now); wait > 0 && !(c.ok && s.keys.Holds(c.prefix)) {
			return tooManyFailures(wait)
		}
	}
	k, err := s.authenticate(r.Context(), c)
	if err == errUnauthorized && failuresLimited {
		if wait, ok := l.failures.allow(address, now); !ok {
			return tooManyFailures(wait)
		}
	}
	if err != nil {
		return err
	}
	if l != nil && l.keys != nil {
		if wait, ok := l.keys.allow(k.Prefix, now); !ok {
			return &tooManyRequests{wait, fmt.Sprintf(
				"Too many requests: the limit is %s requests a second per API key (bursts of %d), retry in %s s",
				strconv.FormatFloat(l.config.PerSecond, 'f', -1, 64), l.config.Burst, retryAfterSeconds(wait))}
		}
	}
	return s.authorize(r, k, who)
}

// tooManyFailures is the 429 of an address past its failure budget, which
// has a token again after wait.
func tooManyFailures(wait time.Duration) error {
	return &tooManyRequests{wait, fmt.Sprintf(
		"Too many requests: too many failed authentications from this address, retry in %s s",
		retryAfterSeconds(wait))}
}

// clientAddress is the address failed authentications are counted by: the
// connection's IP (a proxy in front of hookd counts as one client), IPv6
// addresses by their /64, which one host usually has whole.
func clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// limiterSet keeps a token bucket per key. A bucket idle for longer than it
// takes to refill is the same as a new one, so it is dropped: memory grows
// with the keys active in the last few seconds, not with all ever seen.
type limiterSet struct {
	limit rate.Limit
	burst int
	max   int           // entries kept at most; 0: no bound beyond idleness
	idle  time.Duration // a bucket untouched this long is full

	mu        sync.Mutex
	m         map[string]*limiterEntry
	lastSweep time.Time
}

type limiterEntry struct {
	lim  *rate.Limiter
	seen time.Time
}

func newLimiterSet(limit rate.Limit, burst, maxEntries int) *limiterSet {
	idle := time.Duration(float64(burst) / float64(limit) * float64(time.Second))
	return &limiterSet{limit: limit, burst: burst, max: maxEntries, idle: max(idle, time.Second),
		m: map[string]*limiterEntry{}}
}

// get returns key's bucket, creating it (and sweeping idle ones) as needed.
// l.mu is held.
func (l *limiterSet) get(key string, now time.Time) *rate.Limiter {
	if e, ok := l.m[key]; ok {
		e.seen = now
		return e.lim
	}
	if now.Sub(l.lastSweep) >= l.idle || (l.max > 0 && len(l.m) >= l.max) {
		l.sweep(now)
	}
	e := &limiterEntry{lim: rate.NewLimiter(l.limit, l.burst), seen: now}
	l.m[key] = e
	return e.lim
}

// sweep drops the buckets idle long enough to be full, then, if the set is
// still near its bound, arbitrary ones until a tenth of it is free (so that
// a flood of new keys sweeps once per tenth, not on every request). l.mu is
// held.
func (l *limiterSet) sweep(now time.Time) {
	l.lastSweep = now
	for k, e := range l.m {
		if now.Sub(e.seen) >= l.idle {
			delete(l.m, k)
		}
	}
	if l.max > 0 && len(l.m) >= l.max {
		keep := l.max - max(l.max/10, 1)
		for k := range l.m {
			if len(l.m) <= keep {
				break
			}
			delete(l.m, k)
		}
	}
}

// allow takes a token for key if one is there now; otherwise it takes
// nothing and says how long until one is.
func (l *limiterSet) allow(key string, now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.get(key, now).ReserveN(now, 1)
	if wait := r.DelayFrom(now); wait > 0 {
		r.CancelAt(now)
		return wait, false
	}
	return 0, true
}

// wait is how long until key has a token, taking none and changing nothing
// (0: it has one now). A key without a bucket has a full one.
func (l *limiterSet) wait(key string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.m[key]
	if !ok {
		return 0
	}
	missing := 1 - e.lim.TokensAt(now)
	if missing <= 0 {
		return 0
	}
	return time.Duration(missing / float64(l.limit) * float64(time.Second))
}

// size is how many buckets the set holds.
func (l *limiterSet) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}
