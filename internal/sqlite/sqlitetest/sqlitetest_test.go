package sqlitetest_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/clocktest"
	"github.com/hookd/hookd/internal/sqlite"
	"github.com/hookd/hookd/internal/sqlite/sqlitetest"
	"github.com/hookd/hookd/internal/storeopt"
)

// Open gives a working store, with its options, on hookd.db in a temporary
// directory of the test's; when the test ends the store is closed and the
// file removed.
func TestOpen(t *testing.T) {
	start := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	var (
		store *sqlite.Store
		file  string
	)
	t.Run("open", func(t *testing.T) {
		store = sqlitetest.Open(t, storeopt.WithClock(clocktest.New(start)))
		if err := store.Ping(t.Context()); err != nil {
			t.Fatalf("ping: %v", err)
		}
		w := &hookd.Webhook{Name: "w", HTTPURL: "http://127.0.0.1:9/", HTTPMethod: "POST", TriggerEvents: []string{"ASSET_ADDED"}}
		if err := store.CreateWebhook(t.Context(), w, ""); err != nil {
			t.Fatalf("create webhook: %v", err)
		}
		got, err := store.Webhook(t.Context(), w.ID)
		if err != nil || !got.CreatedAt.Equal(start) {
			t.Fatalf("webhook created at %v, %v; want %v from the store's clock", got, err, start)
		}

		// The test's temporary directories share a parent: the store's
		// file is the one hookd.db under it.
		files, err := filepath.Glob(filepath.Join(filepath.Dir(t.TempDir()), "*", "hookd.db"))
		if err != nil || len(files) != 1 {
			t.Fatalf("hookd.db in the test's temporary directories: %q, %v; want one", files, err)
		}
		file = files[0]
		if !strings.HasPrefix(file, os.TempDir()+string(filepath.Separator)) {
			t.Errorf("database %s is not under %s", file, os.TempDir())
		}
	})
	if store == nil || file == "" {
		return // the subtest failed
	}
	if err := store.Ping(t.Context()); err == nil {
		t.Error("the store still answers after its test ended; want it closed")
	}
	if _, err := os.Stat(file); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s after its test ended: %v; want it removed", file, err)
	}
}
