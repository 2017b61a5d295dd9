package postgres_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd"
	hookdhttp "github.com/hookd/hookd/internal/http"
	"github.com/hookd/hookd/internal/postgres/pgtest"
)

// TestOutboxPoisonRow: data that PostgreSQL's json type takes but the
// intake does not (nested deeper than encoding/json reads) is refused with
// the intake's reason, and the rows around it are published.
func TestOutboxPoisonRow(t *testing.T) {
	s, schema, _ := outboxStore(t)
	deep := `{"a":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}` // 10,001 levels
	if _, err := platform(t).Exec(t.Context(), `SELECT `+pgx.Identifier{schema, "hookd_publish"}.Sanitize()+`('ASSET_ADDED', id => i,
		data => CASE i WHEN 'evt_deep' THEN $1::json ELSE '{}' END) FROM unnest(ARRAY['evt_1', 'evt_deep', 'evt_2']) AS i`, deep); err != nil {
		t.Fatal(err)
	}
	res := relay(t, s)
	if got := publishedIDs(res); !slices.Equal(got, []string{"evt_1", "evt_2"}) || len(res.Rejected) != 1 ||
		!strings.HasPrefix(res.Rejected[0].Reason, "Malformed JSON: ") || !strings.Contains(res.Rejected[0].Reason, "exceeded max depth") {
		t.Fatalf("published %v, rejected %q, want evt_1 and evt_2, and evt_deep refused for its depth", got, reasons(res))
	}
}

// reasons is the reasons of the rows res rejected.
func reasons(res hookd.OutboxRelayed) []string {
	var r []string
	for _, rej := range res.Rejected {
		r = append(r, rej.Reason)
	}
	return r
}

// TestOutboxRowErrorsStayWithTheirRow: a row whose event Event.Normalize
// refuses (a check that let it through) is set aside like any refused row,
// rather than failing the rows of its transaction.
func TestOutboxRowErrorsStayWithTheirRow(t *testing.T) {
	s, schema, _ := outboxStore(t)
	if _, err := platform(t).Exec(t.Context(), `SELECT `+pgx.Identifier{schema, "hookd_publish"}.Sanitize()+
		`('ASSET_ADDED', id => i) FROM unnest(ARRAY['evt_1', 'evt_broken', 'evt_2']) AS i`); err != nil {
		t.Fatal(err)
	}
	lenient := func(row hookd.OutboxRow) (*hookd.Event, error) {
		e, err := hookdhttp.OutboxEvent(row)
		if err == nil && e.ID == "evt_broken" {
			e.Data = []byte(`{"unclosed": `)
		}
		return e, err
	}
	res, err := s.RelayOutbox(t.Context(), 1000, lenient)
	if err != nil {
		t.Fatalf("one row failed the relay: %v", err)
	}
	if got := publishedIDs(res); !slices.Equal(got, []string{"evt_1", "evt_2"}) || len(res.Rejected) != 1 ||
		*res.Rejected[0].Row.ID != "evt_broken" || !strings.Contains(res.Rejected[0].Reason, "not valid JSON") {
		t.Fatalf("published %v, rejected %q, want evt_1 and evt_2, and evt_broken set aside", got, reasons(res))
	}
	if n := count(t, s, `SELECT count(*) FROM outbox_rejected WHERE id = 'evt_broken'`); n != 1 {
		t.Fatal("evt_broken is not in outbox_rejected")
	}
}

// TestOutboxHugeTextColumns: the relay reads at most OutboxTextChars
// characters of a text column, however long the value, and refuses an
// over-long one as the intake would; outbox_rejected keeps it whole.
func TestOutboxHugeTextColumns(t *testing.T) {
	s, schema, _ := outboxStore(t)
	fn := pgx.Identifier{schema, "hookd_publish"}.Sanitize()
	huge := strings.Repeat("x", 8<<20)
	if _, err := platform(t).Exec(t.Context(), `SELECT `+fn+`(e, id => i, project_id => p)
		FROM (VALUES ($1, NULL, NULL), ('ASSET_ADDED', $1, NULL), ('ASSET_ADDED', NULL, $1), ('ASSET_ADDED', 'evt_valid', $2)) AS r(e, i, p)`,
		huge, strings.Repeat("p", 64)); err != nil {
		t.Fatal(err)
	}
	res := relay(t, s)
	if got := publishedIDs(res); res.Rows != 4 || !slices.Equal(got, []string{"evt_valid"}) || len(res.Rejected) != 3 {
		t.Fatalf("took %d rows, published %v, rejected %.300q, want 4 rows taken, evt_valid published", res.Rows, got, reasons(res))
	}
	for i, key := range []string{"event", "id", "project_id"} {
		rej := res.Rejected[i]
		if !strings.HasPrefix(rej.Reason, "Invalid parameter '"+key+"' value") {
			t.Errorf("reason %.200q, want the intake's refusal of %s", rej.Reason, key)
		}
		for _, v := range []*string{&rej.Row.Event, rej.Row.ID, rej.Row.ProjectID} {
			if v != nil && utf8.RuneCountInString(*v) > hookd.OutboxTextChars {
				t.Errorf("the relay read %d characters of a column of the %s row, want at most %d", len(*v), key, hookd.OutboxTextChars)
			}
		}
	}
	if n := count(t, s, `SELECT sum(octet_length(coalesce(id, '')) + octet_length(event) + octet_length(coalesce(project_id, ''))) FROM outbox_rejected`); n < 3*len(huge) {
		t.Fatalf("outbox_rejected holds %d bytes of text, want the rows whole", n)
	}
}

// TestOutboxByteBudgetCountsEveryColumn: the relay's byte budget counts
// the text columns too, not only the data.
func TestOutboxByteBudgetCountsEveryColumn(t *testing.T) {
	s, schema, _ := outboxStore(t)
	// 16 rows of data 100 bytes short of 1 MB fit in the budget (16 MB) by
	// their data alone, not with ids of 255 three-byte characters.
	if _, err := platform(t).Exec(t.Context(), `SELECT `+pgx.Identifier{schema, "hookd_publish"}.Sanitize()+
		`('ASSET_ADDED', id => repeat('€', 254) || to_hex(i), data => json_build_object('pad', repeat('x', 1048464)))
		FROM generate_series(0, 15) AS i`); err != nil {
		t.Fatal(err)
	}
	if n := count(t, s, `SELECT sum(octet_length(data::text)) FROM outbox`); n > 16<<20 {
		t.Fatalf("the data alone is %d bytes, over the budget: the test needs it within", n)
	}
	first := relay(t, s)
	if len(first.Published) != 15 || !first.More || len(first.Rejected) != 0 {
		t.Fatalf("the first transaction published %d rows (more: %t, rejected %q), want 15 and more", len(first.Published), first.More, reasons(first))
	}
	if second := relay(t, s); len(second.Published) != 1 {
		t.Fatalf("the second transaction published %d rows (rejected %q), want the last", len(second.Published), reasons(second))
	}
}

// TestOutboxDataBytes: hookd_publish measures each row's data when it
// writes it (data_bytes, 0 for none); it takes data over MaxOutboxData, as
// contract version 1 always has (failing the platform's own transaction
// would be a new error there), and the relay sets that row aside and
// publishes the one of exactly MaxOutboxData bytes, and the one without.
func TestOutboxDataBytes(t *testing.T) {
	s, schema, _ := outboxStore(t)
	conn := platform(t)
	fn := pgx.Identifier{schema, "hookd_publish"}.Sanitize()
	const wrapping = len(`{"pad" : ""}`)
	for _, n := range []int{hookd.MaxOutboxData - wrapping, hookd.MaxOutboxData - wrapping + 1} {
		if _, err := conn.Exec(t.Context(), `SELECT `+fn+`('ASSET_ADDED', data => json_build_object('pad', repeat('x', $1)))`, n); err != nil {
			t.Fatalf("publishing %d bytes of data: %v", n+wrapping, err)
		}
	}
	if _, err := conn.Exec(t.Context(), `SELECT `+fn+`('ASSET_ADDED')`); err != nil {
		t.Fatal(err)
	}
	if n := count(t, s, `SELECT sum(data_bytes) FROM outbox`); n != 2*hookd.MaxOutboxData+1 {
		t.Fatalf("data_bytes sum %d, want %d", n, 2*hookd.MaxOutboxData+1)
	}
	if n := count(t, s, `SELECT count(*) FROM outbox WHERE data_bytes = 0`); n != 1 {
		t.Fatalf("%d rows of data_bytes 0, want the row without data", n)
	}
	if res := relay(t, s); len(res.Published) != 2 || len(res.Rejected) != 1 {
		t.Fatalf("relayed %d, rejected %q; want the events of MaxOutboxData bytes and of none published, the other set aside", len(res.Published), reasons(res))
	}
}

// TestOutboxStalledRelayGivesUpItsTurn: a relay whose process stops midway
// (frozen, or cut off without its connection closing) holds the turn only
// until its context's deadline: the database ends its transaction, and
// another process's relay publishes the rows.
func TestOutboxStalledRelayGivesUpItsTurn(t *testing.T) {
	s, schema, _ := outboxStore(t)
	other := pgtest.OpenSchema(t, schema)
	if _, err := platform(t).Exec(t.Context(), `SELECT `+pgx.Identifier{schema, "hookd_publish"}.Sanitize()+
		`('ASSET_ADDED', id => 'evt_' || i) FROM generate_series(1, 3) AS i`); err != nil {
		t.Fatal(err)
	}
	holding, release, stalled := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		hold := sync.OnceFunc(func() {
			close(holding)
			<-release // the process freezes, holding the turn and the rows
		})
		_, err := s.RelayOutbox(ctx, 1000, func(hookd.OutboxRow) (*hookd.Event, error) {
			hold()
			return nil, errors.New("the process came back too late")
		})
		stalled <- err
	}()
	<-holding
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	res, err := other.RelayOutbox(ctx, 1000, hookdhttp.OutboxEvent)
	close(release)
	if err != nil {
		t.Fatalf("the other relay: %v, want it to take over once the stalled one's deadline passed", err)
	}
	if got, want := publishedIDs(res), outboxIDs(1, 3); !slices.Equal(got, want) {
		t.Fatalf("the other relay published %v, want %v", got, want)
	}
	if err := <-stalled; err == nil {
		t.Fatal("the stalled relay committed after the database ended its transaction")
	}
}
