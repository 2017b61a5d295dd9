package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/api"
	"github.com/hookd/hookd/client"
	"github.com/hookd/hookd/internal/postgres/pgtest"
)

// verbatimData is what a publisher might send as data: a float with a
// trailing zero, HTML characters and a non-ASCII one, an integer beyond
// float64, keys out of order and repeated, an escape. Decoding it into Go
// values and encoding it again would change every one of these.
const verbatimData = `{"z":1.50,"a":"<b>&é","n":12345678901234567890,"arr":[3,1,2],"dup":1,"dup":2,"esc":"\u00e9\/"}`

// TestDataDeliveredVerbatim publishes through the HTTP intake, one event a
// request and in a batch, and finds the publisher's data, byte for byte,
// in the body the receiver gets and in the intake's answer, on each store.
func TestDataDeliveredVerbatim(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		testDataDeliveredVerbatim(t, filepath.Join(t.TempDir(), "hookd.db"))
	})
	t.Run("postgres", func(t *testing.T) {
		testDataDeliveredVerbatim(t, pgtest.URLFor(t, pgtest.Schema(t)))
	})
}

func testDataDeliveredVerbatim(t *testing.T, database string) {
	bodies := make(chan []byte, 4)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies <- b
	}))
	defer receiver.Close()
	url, _ := startServe(t, "--database", database, "--admin-api-key", testAdminKey, "--allow-private", "127.0.0.0/8")
	ctx := context.Background()
	c := client.New(url, testAdminKey)
	if _, err := c.CreateWebhook(ctx, api.NewWebhook{Name: "verbatim", HTTPURL: receiver.URL, HTTPMethod: "POST",
		TriggerEvents: []string{"ASSET_ADDED"}}); err != nil {
		t.Fatal(err)
	}

	single := `{"event":"ASSET_ADDED","id":"evt-verbatim-1","data":` + verbatimData + `}`
	batch := `{"events":[{"data":` + verbatimData + `,"event":"ASSET_ADDED","id":"evt-verbatim-2"}]}`
	for _, req := range []struct{ path, body string }{{"/api/v2/events", single}, {"/api/v2/events/batch", batch}} {
		res := post(t, url+req.path, req.body)
		if res.status != http.StatusOK || !strings.Contains(res.body, `"data":`+verbatimData) {
			t.Errorf("POST %s: %d %s; want 200 with the data as sent", req.path, res.status, res.body)
		}
	}
	for i := range 2 {
		select {
		case b := <-bodies:
			if !bytes.Contains(b, []byte(`"data":`+verbatimData)) {
				t.Errorf("delivered body %s; want the data as sent: %s", b, verbatimData)
			}
		case <-time.After(15 * time.Second):
			t.Fatalf("delivery %d did not arrive", i+1)
		}
	}
}

type answer struct {
	status int
	body   string
}

func post(t *testing.T, url, body string) answer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-KEY", testAdminKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return answer{res.StatusCode, fmt.Sprintf("%s", bytes.TrimSpace(b))}
}
