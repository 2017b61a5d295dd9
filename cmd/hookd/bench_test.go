package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"testing"

	"github.com/hookd/hookd/internal/bench"
	"github.com/hookd/hookd/internal/postgres/pgtest"
)

// TestBench runs a small hookd bench end to end (the receiver is a child
// process of the binary) and checks its accounting: every delivery arrives
// once. With --fail-rate, every delivery still arrives (retries), and none
// is lost.
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
		for _, mode := range [][]string{
			{"--webhooks", "3", "--events", "300", "--batch", "50"},
			{"--webhooks", "2", "--rate", "200", "--duration", "1s", "--fail-rate", "0.2", "--retry-schedule", "100ms,100ms,100ms,100ms,100ms", "--raw=false"},
		} {
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
				if r.DeliveriesPerSecond <= 0 || r.PeakRSSMB <= 0 || r.CPUSeconds <= 0 {
					t.Errorf("figures missing: %+v", r)
				}
			})
		}
	}
}
