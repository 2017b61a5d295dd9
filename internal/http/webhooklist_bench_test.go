package http_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/hookd/hookd"
	hookdhttp "github.com/hookd/hookd/internal/http"
	"github.com/hookd/hookd/internal/postgres/pgtest"
	"github.com/hookd/hookd/internal/sqlite"
)

// BenchmarkWebhookList is the server time of the UI's list requests over
// 10,000 webhooks: a page (with its X-Total-Count), a page sorted by name,
// and a search, on each store.
//
//	go test -run '^$' -bench WebhookList ./internal/http/
func BenchmarkWebhookList(b *testing.B) {
	const webhooks = 10000
	for _, kind := range []string{"sqlite", "postgres"} {
		b.Run(kind, func(b *testing.B) {
			var store hookd.Store
			if kind == "postgres" {
				store = pgtest.Open(b)
			} else {
				s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "hookd.db"))
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { s.Close() })
				store = s
			}
			ctx := context.Background()
			for i := range webhooks {
				w := &hookd.Webhook{Name: fmt.Sprintf("Webhook %05d of the bench", i), HTTPURL: fmt.Sprintf("https://r%d.example/hooks", i),
					HTTPMethod: "POST", TriggerEvents: []string{"ASSET_ADDED"}}
				if err := store.CreateWebhook(ctx, w, ""); err != nil {
					b.Fatal(err)
				}
			}
			key, err := hookd.IssueAPIKey(ctx, store, hookd.DefaultUserID, "bench", hookd.RoleAdmin)
			if err != nil {
				b.Fatal(err)
			}
			srv := hookdhttp.NewServer(store, slog.New(slog.NewTextHandler(io.Discard, nil)))
			for _, q := range []struct{ name, query string }{
				{"page", "page=1&per_page=25"},
				{"last page by name", "page=400&per_page=25&sort=-name"},
				{"search", "page=1&per_page=25&q=r9999.example"},
			} {
				b.Run(q.name, func(b *testing.B) {
					for b.Loop() {
						req := httptest.NewRequest("GET", "/api/v2/admin/webhooks?"+q.query, nil)
						req.Header.Set("X-API-KEY", key)
						rec := httptest.NewRecorder()
						srv.ServeHTTP(rec, req)
						if rec.Code != http.StatusOK || rec.Header().Get("X-Total-Count") == "" {
							b.Fatalf("%d %s", rec.Code, rec.Body)
						}
					}
				})
			}
		})
	}
}
