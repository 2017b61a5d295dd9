package metrics_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/hookd/hookd/internal/storeopt"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/metrics"
	"github.com/hookd/hookd/internal/postgres/pgtest"
	"github.com/hookd/hookd/internal/sqlite/sqlitetest"
)

// The stores, opened as serve opens them: their statements observed by m.
func openSQLite(t *testing.T, m *metrics.Metrics) hookd.Store {
	return sqlitetest.Open(t, storeopt.WithQueryObserver(m.ObserveQuery))
}

func openPostgres(t *testing.T, m *metrics.Metrics) hookd.Store {
	return pgtest.Open(t, storeopt.WithQueryObserver(m.ObserveQuery))
}

var stores = []struct {
	name string
	open func(t *testing.T, m *metrics.Metrics) hookd.Store
}{{"SQLite", openSQLite}, {"PostgreSQL", openPostgres}}

// TestMetricStatementsTimed checks, through each real driver, that a store's
// calls are timed statement by statement under their operation, and that a
// conflict (a refused unique key) is not counted as a database error.
func TestMetricStatementsTimed(t *testing.T) {
	for _, store := range stores {
		t.Run(store.name, func(t *testing.T) {
			m := metrics.New()
			st := store.open(t, m)
			ctx := t.Context()

			w := &hookd.Webhook{Name: "w", HTTPURL: "https://receiver.example/w", HTTPMethod: "POST", TriggerEvents: []string{"ASSET_ADDED"}}
			if err := st.CreateWebhook(ctx, w, ""); err != nil {
				t.Fatal(err)
			}
			before := scrape(t, m)
			if _, err := st.Webhook(ctx, w.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := st.PublishEvents(ctx, []*hookd.Event{{Event: "ASSET_ADDED", Data: json.RawMessage(`{}`)}}); err != nil {
				t.Fatal(err)
			}
			after := scrape(t, m)
			for _, op := range []string{"select webhooks", "insert events", "begin", "commit"} {
				series := `hookd_db_operation_duration_seconds_count{operation="` + op + `"}`
				if after[series] <= before[series] {
					t.Errorf("%s: %v before, %v after Webhook and PublishEvents: not timed", series, before[series], after[series])
				}
			}
			for series, n := range after {
				if strings.Contains(series, `operation="other"`) && n > before[series] {
					t.Errorf("a store call's statement has no operation: %s", series)
				}
			}

			p := &hookd.Project{ID: "p", Title: "P"}
			if err := st.CreateProject(ctx, p); err != nil {
				t.Fatal(err)
			}
			if err := st.CreateProject(ctx, p); !errors.Is(err, hookd.ErrConflict) {
				t.Fatalf("second CreateProject: %v, want ErrConflict", err)
			}
			for series, v := range scrape(t, m) {
				if strings.HasPrefix(series, "hookd_db_errors_total") && v != 0 {
					t.Errorf("%s = %v after a conflict, want 0", series, v)
				}
			}
		})
	}
}

// TestMetricQueueGauges checks the queue gauges after events are published,
// read from one QueueStats query: the store fails the test if they list the
// webhooks.
func TestMetricQueueGauges(t *testing.T) {
	for _, store := range stores {
		t.Run(store.name, func(t *testing.T) {
			m := metrics.New()
			st := store.open(t, m)
			ctx := t.Context()
			m.WatchQueue(unlisted{st, t}, 0)

			var ids []int64
			for _, name := range []string{"on", "off"} {
				w := &hookd.Webhook{Name: name, HTTPURL: "https://receiver.example/" + name, HTTPMethod: "POST", TriggerEvents: []string{"ASSET_ADDED"}}
				if err := st.CreateWebhook(ctx, w, ""); err != nil {
					t.Fatal(err)
				}
				ids = append(ids, w.ID)
			}
			var events []*hookd.Event
			for i := range 3 {
				events = append(events, &hookd.Event{Event: "ASSET_ADDED", Data: json.RawMessage(fmt.Sprintf(`{"i":%d}`, i))})
			}
			if _, err := st.PublishEvents(ctx, events); err != nil {
				t.Fatal(err)
			}
			if _, err := st.UpdateWebhook(ctx, ids[1], hookd.WebhookUpdate{Disabled: new(true)}); err != nil {
				t.Fatal(err)
			}

			got := scrape(t, m)
			want := map[string]float64{
				// Three deliveries to "on", and three that wait while "off"
				// is disabled: all wait for their first attempt.
				`hookd_queue_length`:                           6,
				`hookd_retry_queue_length`:                     0,
				`hookd_webhooks{state="enabled"}`:              1,
				`hookd_webhooks{state="disabled"}`:             1,
				`hookd_queue_stats_errors_total`:               0,
				`hookd_circuits_open`:                          0,
				`hookd_circuit_transitions_total{to="open"}`:   0,
				`hookd_circuit_transitions_total{to="closed"}`: 0,
			}
			for series, v := range want {
				if g, ok := got[series]; !ok || g != v {
					t.Errorf("%s = %v (present %v), want %v", series, g, ok, v)
				}
			}
		})
	}
}

// unlisted is a store whose ListWebhooks fails the test.
type unlisted struct {
	hookd.Store
	t *testing.T
}

func (s unlisted) ListWebhooks(ctx context.Context, f hookd.WebhookFilter) ([]*hookd.Webhook, error) {
	s.t.Error("the queue gauges listed the webhooks")
	return s.Store.ListWebhooks(ctx, f)
}

// TestMetricQueryErrors checks what counts as a failed statement: an error
// of the database, not a caller that gave up.
func TestMetricQueryErrors(t *testing.T) {
	m := metrics.New()
	const update = "UPDATE deliveries SET attempts = attempts + 1 WHERE id = ?"
	m.ObserveQuery(update, time.Millisecond, nil)
	m.ObserveQuery(update, time.Millisecond, errors.New("disk I/O error"))
	m.ObserveQuery(update, time.Millisecond, fmt.Errorf("query: %w", context.Canceled))
	got := scrape(t, m)
	if n := got[`hookd_db_operation_duration_seconds_count{operation="update deliveries"}`]; n != 3 {
		t.Errorf("timed %v statements, want 3", n)
	}
	if n := got[`hookd_db_errors_total{operation="update deliveries"}`]; n != 1 {
		t.Errorf("counted %v errors, want 1 (the cancelled call is not one)", n)
	}
}

func TestMetricOperation(t *testing.T) {
	for query, want := range map[string]string{
		"SELECT id, name FROM webhooks WHERE id = ?":                                                                     "select webhooks",
		"  select count(*) from hookd_x.deliveries d join webhooks w on w.id = d.id":                                     "select deliveries",
		"SELECT (SELECT count(*) FROM attempts) AS n FROM webhooks":                                                      "select webhooks",
		"SELECT d.n FROM (SELECT count(*) AS n FROM deliveries) d":                                                       "select",
		"SELECT pg_try_advisory_lock($1)":                                                                                "select",
		"INSERT INTO events (id, data) VALUES ($1, '(from x)')":                                                          "insert events",
		"INSERT OR IGNORE INTO projects (id) VALUES (?)":                                                                 "insert projects",
		"UPDATE deliveries SET leased_by = ? WHERE id IN (SELECT id FROM deliveries)":                                    "update deliveries",
		"UPDATE OR IGNORE webhooks SET disabled = 1":                                                                     "update webhooks",
		"DELETE FROM attempts WHERE created_at < ?":                                                                      "delete attempts",
		"WITH due AS (SELECT id FROM deliveries FOR UPDATE SKIP LOCKED) UPDATE deliveries d SET leased_by = $1 FROM due": "update deliveries",
		"WITH a AS (DELETE FROM attempts RETURNING 1), b AS (SELECT 1) SELECT count(*) FROM a":                           "select a",
		"-- the claim\nUPDATE \"deliveries\" SET x = 1":                                                                  "update deliveries",
		"/* c */ DELETE FROM events":                                                                                     "delete events",
		"begin isolation level serializable":                                                                             "begin",
		"BEGIN":                                                                                                          "begin",
		"commit":                                                                                                         "commit",
		"ROLLBACK":                                                                                                       "rollback",
		"LISTEN hookd_work":                                                                                              "listen",
		"CREATE TABLE x (id int)":                                                                                        "other",
		"":                                                                                                               "other",
	} {
		if got := metrics.Operation(query); got != want {
			t.Errorf("Operation(%q) = %q, want %q", query, got, want)
		}
	}
}

// scrape gathers m's series ("name{label="value",...}") with their values:
// a histogram as its _count.
func scrape(t *testing.T, m *metrics.Metrics) map[string]float64 {
	t.Helper()
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		for _, mt := range f.GetMetric() {
			name, v := f.GetName(), 0.0
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				v = mt.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				v = mt.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				name, v = name+"_count", float64(mt.GetHistogram().GetSampleCount())
			default:
				continue
			}
			var labels []string
			for _, l := range mt.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			if len(labels) > 0 {
				name += "{" + strings.Join(labels, ",") + "}"
			}
			out[name] = v
		}
	}
	return out
}
