package metrics

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookd/hookd"
)

// DefaultQueueCacheTTL is how long queue figures read for a scrape serve
// the next scrapes.
const DefaultQueueCacheTTL = 5 * time.Second

var (
	queueLengthDesc = prometheus.NewDesc("hookd_queue_length",
		"Deliveries waiting for their first attempt or in flight, over all webhooks (the sum of queue_length).", nil, nil)
	retryQueueLengthDesc = prometheus.NewDesc("hookd_retry_queue_length",
		"Deliveries waiting for a retry, over all webhooks (the sum of retry_queue_length).", nil, nil)
	webhooksDesc = prometheus.NewDesc("hookd_webhooks",
		"Webhooks by state (enabled, disabled).", []string{"state"}, nil)
	circuitsOpenDesc = prometheus.NewDesc("hookd_circuits_open",
		"Webhooks whose circuit breaker is open or half open: their deliveries wait for a probe to succeed.", nil, nil)
	queueScrapeErrorsDesc = prometheus.NewDesc("hookd_queue_stats_errors_total",
		"Reads of the queue figures for a scrape that failed (the last figures are shown meanwhile).", nil, nil)
)

// WatchQueue registers gauges of the queue depth (hookd_queue_length,
// hookd_retry_queue_length), of the webhooks by state and of their open
// circuits (hookd_circuits_open), read from s
// (Store.QueueStats, one aggregate query) when scraped and cached for ttl (DefaultQueueCacheTTL when 0), so that
// frequent scrapes, or several scrapers, do not load the database. The
// figures are those of the whole database: every hookd process sharing a
// PostgreSQL database reports the same.
func (m *Metrics) WatchQueue(s hookd.Store, ttl time.Duration) {
	if ttl <= 0 {
		ttl = DefaultQueueCacheTTL
	}
	m.reg.MustRegister(&queueCollector{store: s, ttl: ttl})
}

type queueCollector struct {
	store hookd.Store
	ttl   time.Duration

	mu     sync.Mutex
	read   time.Time // when the figures were read; zero before the first success
	tried  time.Time
	stats  hookd.QueueStats
	errors int
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- queueLengthDesc
	ch <- retryQueueLengthDesc
	ch <- webhooksDesc
	ch <- circuitsOpenDesc
	ch <- queueScrapeErrorsDesc
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.tried) >= c.ttl {
		c.refresh()
	}
	ch <- prometheus.MustNewConstMetric(queueScrapeErrorsDesc, prometheus.CounterValue, float64(c.errors))
	if c.read.IsZero() {
		return // nothing to show yet: no made-up zeros
	}
	ch <- prometheus.MustNewConstMetric(queueLengthDesc, prometheus.GaugeValue, float64(c.stats.Queued))
	ch <- prometheus.MustNewConstMetric(retryQueueLengthDesc, prometheus.GaugeValue, float64(c.stats.Retrying))
	ch <- prometheus.MustNewConstMetric(webhooksDesc, prometheus.GaugeValue, float64(c.stats.EnabledWebhooks), "enabled")
	ch <- prometheus.MustNewConstMetric(webhooksDesc, prometheus.GaugeValue, float64(c.stats.DisabledWebhooks), "disabled")
	ch <- prometheus.MustNewConstMetric(circuitsOpenDesc, prometheus.GaugeValue, float64(c.stats.OpenCircuits))
}

// refresh reads the figures; c.mu is held.
func (c *queueCollector) refresh() {
	c.tried = time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	stats, err := c.store.QueueStats(ctx)
	if err != nil {
		c.errors++
		return
	}
	c.stats, c.read = stats, c.tried
}
