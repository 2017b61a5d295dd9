package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/hookd/hookd/internal/bench"
	"github.com/hookd/hookd/internal/postgres/pgtest"
)

// TestBench runs a small hookd bench end to end (the publisher and the
// receiver are child processes of the binary) and checks its accounting: every delivery arrives
// once. With --fail-rate, every delivery still arrives (retries), and none
// is lost. With --hostile (on SQLite: the bench's accounting is the same on
// both), every healthy delivery arrives beside five hostile webhooks, and
// the hostile attempts are counted. With --replay (and --filtered webhooks
// that receive nothing), every delivery arrives once more, with its first
// webhook-id. With --ordered-lanes, every delivery arrives, and the report
// has a lane's figure.
func TestBench(t *testing.T) {
	if testing.Short() {
		t.Skip("builds hookd")
	}
	// Processes of its own: its waits overlap the other process tests'.
	t.Parallel()
	bin := buildHookd(t)
	databases := map[string]string{"sqlite": ""}
	if os.Getenv(pgtest.EnvURL) != "" || os.Getenv(pgtest.EnvRequire) != "" {
		databases["postgres"] = pgtest.URL(t)
	}
	for name, db := range databases {
		modes := [][]string{
			{"--webhooks", "3", "--events", "300", "--batch", "50"},
			{"--webhooks", "2", "--rate", "200", "--duration", "1s", "--fail-rate", "0.2", "--retry-schedule", "100ms,100ms,100ms,100ms,100ms", "--raw=false"},
			{"--webhooks", "2", "--events", "300", "--batch", "50", "--raw=false", "--filtered", "3", "--replay"},
			{"--webhooks", "2", "--events", "200", "--batch", "50", "--ordered-lanes", "4", "--raw=false"},
		}
		if name == "sqlite" {
			dir := t.TempDir()
			modes[0] = append(modes[0], "--cpuprofile", filepath.Join(dir, "cpu.prof"), "--memprofile", filepath.Join(dir, "mem.prof"))
			modes = append(modes, []string{"--webhooks", "1", "--rate", "200", "--duration", "1s", "--raw=false",
				"--hostile", "5", "--hostile-share", "0.2", "--concurrency", "8", "--timeout", "1s", "--wait", "15s"})
		}
		for _, mode := range modes {
			args := append([]string{"bench", "--json"}, mode...)
			if db != "" {
				args = append(args, "--database", db)
			}
			t.Run(name, func(t *testing.T) {
				out, err := exec.Command(bin, args...).Output()
				if err != nil {
					t.Fatalf("hookd %v: %v", args, err)
				}
				var r bench.Report
				if err := json.Unmarshal(out, &r); err != nil {
					t.Fatalf("report: %v\n%s", err, out)
				}
				if r.Database != name || r.Accepted != int64(r.Events) || r.Expected != int64(r.Events*r.Webhooks) {
					t.Errorf("report %+v: database, accepted or expected wrong", r)
				}
				if r.Delivered+r.FailedForGood != r.Expected || r.Duplicates != 0 || r.Missing != 0 || r.Lost != 0 {
					t.Errorf("delivered %d + failed for good %d of %d, duplicates %d, missing %d, lost %d",
						r.Delivered, r.FailedForGood, r.Expected, r.Duplicates, r.Missing, r.Lost)
				}
				if r.FailRate > 0 && r.Retried == 0 {
					t.Errorf("fail rate %v but nothing retried", r.FailRate)
				}
				if r.DeliveriesPerSecond <= 0 || r.PeakRSSMB <= 0 || r.CPUSeconds <= 0 || r.PublisherCPUSeconds <= 0 {
					t.Errorf("figures missing: %+v", r)
				}
				if r.Hostile != nil {
					checkHostileReport(t, &r)
				}
				// The raw limit is measured on both sides of hookd's run,
				// and the ratio is to their mean.
				if raw := !slices.Contains(args, "--raw=false"); raw && (r.RawBefore <= 0 || r.RawAfter <= 0 ||
					r.RawPerSecond != (r.RawBefore+r.RawAfter)/2 || r.RawRatio != r.DeliveriesPerSecond/r.RawPerSecond) {
					t.Errorf("raw client limit before %v, after %v, mean %v, ratio %v of %v delivered/s",
						r.RawBefore, r.RawAfter, r.RawPerSecond, r.RawRatio, r.DeliveriesPerSecond)
				} else if !raw && (r.RawPerSecond != 0 || r.RawRatio != 0) {
					t.Errorf("--raw=false, but a raw limit of %v and a ratio of %v", r.RawPerSecond, r.RawRatio)
				}
				for i, arg := range args {
					if arg == "--cpuprofile" || arg == "--memprofile" {
						if prof, err := os.ReadFile(args[i+1]); err != nil || !bytes.HasPrefix(prof, []byte{0x1f, 0x8b}) {
							t.Errorf("%s: %d bytes, not a gzipped profile (%v)", arg, len(prof), err)
						}
					}
				}
				// The replay sends every delivery once more, with its first
				// webhook-id; the filtered webhooks receive nothing.
				if slices.Contains(args, "--replay") && r.Replay == nil {
					t.Error("no replay in the report")
				}
				if rp := r.Replay; rp != nil && (rp.Expected != r.Expected || rp.Delivered != rp.Expected || rp.NewIDs != 0 || rp.PerSecond <= 0 || r.Filtered != 3) {
					t.Errorf("replay %+v of %d deliveries, %d filtered webhooks", rp, r.Expected, r.Filtered)
				}
				if r.OrderedLanes > 0 && r.PerLanePerSecond <= 0 {
					t.Errorf("%d ordered lanes, but no figure a lane", r.OrderedLanes)
				}
			})
		}
	}
}

// checkHostileReport checks a --hostile run's report: the healthy
// latencies are there, and each hostile receiver got attempts.
func checkHostileReport(t *testing.T, r *bench.Report) {
	t.Helper()
	h := r.Hostile
	if r.P50 <= 0 || r.P99 < r.P50 || r.Max < r.P99 {
		t.Errorf("healthy latency p50 %v, p99 %v, max %v: missing or out of order", r.P50, r.P99, r.Max)
	}
	if h.Webhooks != 5 || len(h.ByKind) != len(bench.DefaultHostileKinds) || h.Expected != int64(float64(r.Accepted)*0.2)*5 {
		t.Errorf("hostile report %+v: webhooks, kinds or expected deliveries wrong", h)
	}
	sum := int64(0)
	for _, k := range h.ByKind {
		if k.Requests == 0 {
			t.Errorf("hostile receiver %s got no attempt", k.Kind)
		}
		sum += k.Requests
	}
	if h.Attempts != sum {
		t.Errorf("hostile attempts %d, the receivers' sum %d", h.Attempts, sum)
	}
	if h.StopOverran {
		t.Errorf("hookd's dispatcher did not stop within its grace period (%.1f s)", h.StopSeconds)
	}
}
