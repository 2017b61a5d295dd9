package postgres_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd"
	hookdhttp "github.com/hookd/hookd/internal/http"
)

// TestOutboxLongRejectedValue: data that is not an object and too long to
// echo whole is quoted in its reason up to a character boundary, so that
// the reason is text PostgreSQL stores and the rows around it go.
func TestOutboxLongRejectedValue(t *testing.T) {
	s, schema, _ := outboxStore(t)
	// Cut at 1024 bytes, "[", "\"", "x" and 510 é end within the next é.
	long := `["x` + strings.Repeat("é", 3000) + `"]`
	if _, err := platform(t).Exec(t.Context(), `SELECT `+pgx.Identifier{schema, "hookd_publish"}.Sanitize()+`('ASSET_ADDED', id => i,
		data => CASE i WHEN 'evt_long' THEN $1::json ELSE '{}' END) FROM unnest(ARRAY['evt_1', 'evt_long', 'evt_2']) AS i`, long); err != nil {
		t.Fatal(err)
	}
	res := relay(t, s)
	if got := publishedIDs(res); !slices.Equal(got, []string{"evt_1", "evt_2"}) || len(res.Rejected) != 1 {
		t.Fatalf("published %v, rejected %.300q, want evt_1 and evt_2, and evt_long set aside", got, reasons(res))
	}
	var reason string
	if err := s.Pool().QueryRow(t.Context(), `SELECT reason FROM outbox_rejected WHERE id = 'evt_long'`).Scan(&reason); err != nil {
		t.Fatal(err)
	}
	if want := `Invalid parameter 'data' value ["x` + strings.Repeat("é", 510) + `...: Must be a Hash`; reason != want {
		t.Fatalf("reason %.300q, want %.300q", reason, want)
	}
}

// TestOutboxReasonStoredAsText: whatever a check's error says, its row is
// set aside with a reason PostgreSQL's text takes (invalid UTF-8 replaced,
// NUL bytes dropped), rather than failing the rows of its transaction.
func TestOutboxReasonStoredAsText(t *testing.T) {
	s, schema, _ := outboxStore(t)
	if _, err := platform(t).Exec(t.Context(), `SELECT `+pgx.Identifier{schema, "hookd_publish"}.Sanitize()+
		`('ASSET_ADDED', id => i) FROM unnest(ARRAY['evt_1', 'evt_odd', 'evt_2']) AS i`); err != nil {
		t.Fatal(err)
	}
	odd := func(row hookd.OutboxRow) (*hookd.Event, error) {
		if *row.ID == "evt_odd" {
			return nil, errors.New("cut \xc3 in\x00 two")
		}
		return hookdhttp.OutboxEvent(row)
	}
	res, err := s.RelayOutbox(t.Context(), 1000, odd)
	if err != nil {
		t.Fatalf("one row's reason failed the relay: %v", err)
	}
	if got := publishedIDs(res); !slices.Equal(got, []string{"evt_1", "evt_2"}) || len(res.Rejected) != 1 {
		t.Fatalf("published %v, rejected %q, want evt_1 and evt_2, and evt_odd set aside", got, reasons(res))
	}
	var reason string
	if err := s.Pool().QueryRow(t.Context(), `SELECT reason FROM outbox_rejected WHERE id = 'evt_odd'`).Scan(&reason); err != nil {
		t.Fatal(err)
	}
	if want := "cut \uFFFD in two"; reason != want || !utf8.ValidString(reason) {
		t.Fatalf("reason %q, want %q", reason, want)
	}
}
