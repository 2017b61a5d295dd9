package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/hookd/hookd/internal/postgres/pgtest"
)

// TestGenerate fills small databases with hookd generate, twice (a second
// run adds to the first), and checks its accounting and its expiry.
func TestGenerate(t *testing.T) {
	databases := map[string]string{"sqlite": filepath.Join(t.TempDir(), "history.db")}
	if os.Getenv(pgtest.EnvURL) != "" || os.Getenv(pgtest.EnvRequire) != "" {
		databases["postgres"] = pgtest.URLFor(t, pgtest.Schema(t))
	}
	for name, db := range databases {
		t.Run(name, func(t *testing.T) {
			generate := func(args ...string) generateReport {
				t.Helper()
				var out bytes.Buffer
				if err := run(t.Context(), append([]string{"generate", "--database", db, "--webhooks", "3", "--json"}, args...), &out, io.Discard); err != nil {
					t.Fatal(err)
				}
				var r generateReport
				if err := json.Unmarshal(out.Bytes(), &r); err != nil {
					t.Fatalf("%v: %s", err, out.Bytes())
				}
				return r
			}
			first := generate("--attempts", "3300", "--retry-every", "10", "--days", "3", "--chunk", "500", "--workers", "2")
			// 3,000 deliveries, every tenth with two attempts, counted before
			// the measuring adds 2,200 deliveries of one attempt each.
			if first.Added != 3300 || first.Attempts != 3300 || first.Deliveries != 3000 || first.BytesPerMillion <= 0 {
				t.Errorf("first run: %+v", first)
			}
			// The second run adds 100 deliveries of ten attempts each (nine
			// failures, then the success) to reach 6,500 attempts.
			second := generate("--attempts", "6500", "--retry-every", "1", "--failures", "9", "--expire-older-than", "36h")
			if second.Added != 1000 || second.Attempts != 6500 || second.Deliveries != 5300 || second.ExpiredRows == 0 {
				t.Errorf("second run: %+v", second)
			}
		})
	}
}
