package intake_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd"
	hookdhttp "github.com/hookd/hookd/internal/http"
	"github.com/hookd/hookd/internal/intake"
	"github.com/hookd/hookd/internal/postgres/pgtest"
)

// TestRelayLogsRejectedRowsShort: the warning for a rejected row shows a
// few hundred bytes of its values, however long the platform made them.
func TestRelayLogsRejectedRowsShort(t *testing.T) {
	schema := pgtest.Schema(t)
	store := pgtest.OpenSchema(t, schema)
	if _, err := store.Pool().Exec(t.Context(), `SELECT `+pgx.Identifier{schema, "hookd_publish"}.Sanitize()+`(repeat('A', 1 << 20))`); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	ctx, stop := context.WithCancel(t.Context())
	(&intake.Relay{Outbox: store, Check: hookdhttp.OutboxEvent, Logger: slog.New(slog.NewTextHandler(&log, nil)),
		Observer: func(res hookd.OutboxRelayed) {
			if len(res.Rejected) != 1 {
				t.Errorf("rejected %d rows, want 1", len(res.Rejected))
			}
			stop()
		}}).Run(ctx)
	line := log.String()
	if !strings.Contains(line, "outbox row rejected") || len(line) > 1000 {
		t.Fatalf("logged %d bytes: %.300s, want the rejection in under 1,000", len(line), line)
	}
}
