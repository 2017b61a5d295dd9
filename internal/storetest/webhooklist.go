package storetest

import (
	"strconv"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

// testWebhookList checks the listing's search, orders and pages, and that
// CountWebhooks counts what the filter keeps, whatever the page.
func testWebhookList(t *testing.T, open opener) {
	s := open(t)
	createProject(t, s, "p1")
	mk := func(name, url string, project *string) *hookd.Webhook {
		w := newWebhook(name, assetAdded)
		w.HTTPURL, w.ProjectID = url, project
		createWebhook(t, s, w)
		s.clock.Advance(time.Second)
		return w
	}
	orders := mk("Orders to ERP", "https://erp.example/in", nil)
	billing := mk("billing", "https://pay.example/hooks/ORDERS", ptr("p1"))
	odd := mk(`100% of_us\`, "https://odd.example/", nil)
	zed := mk("Zed", "https://zed.example/", nil)

	list := func(what string, f hookd.WebhookFilter, want ...*hookd.Webhook) {
		t.Helper()
		got, err := s.ListWebhooks(ctx(t), f)
		must(t, err, what)
		deepEqual(t, what, webhookIDs(got), webhookIDs(want))
	}
	count := func(what string, f hookd.WebhookFilter, want int) {
		t.Helper()
		n, err := s.CountWebhooks(ctx(t), f)
		must(t, err, what)
		equal(t, what, n, want)
	}

	// Contract: the zero filter lists every webhook by id.
	list("no filter", hookd.WebhookFilter{}, orders, billing, odd, zed)
	count("count, no filter", hookd.WebhookFilter{}, 4)

	// Search: name or URL, ASCII case ignored; a number is also an id.
	list("search orders", hookd.WebhookFilter{Search: "orders"}, orders, billing)
	count("count orders", hookd.WebhookFilter{Search: "ORDERS"}, 2)
	list("search a URL", hookd.WebhookFilter{Search: "zed.example"}, zed)
	list("search an id", hookd.WebhookFilter{Search: strconv.FormatInt(odd.ID, 10)}, odd)
	// %, _ and \ are themselves, not wildcards.
	list("search %", hookd.WebhookFilter{Search: "0% o"}, odd)
	list("search _", hookd.WebhookFilter{Search: "f_u"}, odd)
	list("search \\", hookd.WebhookFilter{Search: `us\`}, odd)
	list("search matching nothing", hookd.WebhookFilter{Search: "nothing"})
	list("search and project", hookd.WebhookFilter{Search: "orders", ProjectID: ptr("p1")}, billing)
	list("no project", hookd.WebhookFilter{NoProject: true}, orders, odd, zed)

	// Orders: ties go by id; names ignore ASCII case.
	list("by name", hookd.WebhookFilter{Sort: hookd.WebhookSort{Key: hookd.SortByName}}, odd, billing, orders, zed)
	list("by name, descending", hookd.WebhookFilter{Sort: hookd.WebhookSort{Key: hookd.SortByName, Desc: true}}, zed, orders, billing, odd)
	list("by id, descending", hookd.WebhookFilter{Sort: hookd.WebhookSort{Desc: true}}, zed, odd, billing, orders)
	list("by creation, descending", hookd.WebhookFilter{Sort: hookd.WebhookSort{Key: hookd.SortByCreated, Desc: true}}, zed, odd, billing, orders)

	// Contract: webhooks that never ran come last, in either direction.
	// (billing, of project p1, gets no event of no project; odd's attempt
	// is in flight.)
	publish(t, s, newEvent(assetAdded, nil, nil))
	now := s.clock.Now()
	for _, d := range claimAll(t, s, now) {
		switch d.WebhookID {
		case orders.ID:
			complete(t, s, result(d, now, true, 200))
		case zed.ID:
			complete(t, s, result(d, now.Add(time.Second), false, 500))
		}
	}
	list("failing", hookd.WebhookFilter{Health: hookd.HealthFailing}, zed)
	list("circuit open", hookd.WebhookFilter{Health: hookd.HealthCircuitOpen})
	count("count failing", hookd.WebhookFilter{Health: hookd.HealthFailing}, 1)
	list("by last run", hookd.WebhookFilter{Sort: hookd.WebhookSort{Key: hookd.SortByLastRun}}, orders, zed, billing, odd)
	list("by last run, descending", hookd.WebhookFilter{Sort: hookd.WebhookSort{Key: hookd.SortByLastRun, Desc: true}}, zed, orders, odd, billing)

	// Pages, with the live figures of each row.
	page := hookd.WebhookFilter{Sort: hookd.WebhookSort{Key: hookd.SortByName}, Limit: 2}
	got, err := s.ListWebhooks(ctx(t), page)
	must(t, err, "first page")
	deepEqual(t, "first page", webhookIDs(got), []int64{odd.ID, billing.ID})
	equal(t, "first page: odd's queue (in flight)", got[0].QueueLength, 1)
	page.Offset = 2
	list("second page", page, orders, zed)
	page.Offset = 4
	list("past the end", page)
	count("count ignores the page", page, 4)

	// Contract: only ASCII letters fold, in search and in order, on every
	// store; other characters compare as they are, names in byte order
	// (that of code points) once ASCII letters are lowercased.
	createProject(t, s, "intl")
	eb := mk("Éb", "https://intl.example/1", ptr("intl"))
	ea := mk("éa", "https://intl.example/2", ptr("intl"))
	zz := mk("Zz", "https://intl.example/3", ptr("intl"))
	a := mk("a", "https://intl.example/4", ptr("intl"))
	intl := func(search string, desc bool) hookd.WebhookFilter {
		return hookd.WebhookFilter{ProjectID: ptr("intl"), Search: search, Sort: hookd.WebhookSort{Key: hookd.SortByName, Desc: desc}}
	}
	list("non-ASCII names by name", intl("", false), a, zz, eb, ea)
	list("non-ASCII names by name, descending", intl("", true), ea, eb, zz, a)
	list("search é", intl("é", false), ea)
	list("search É", intl("É", false), eb)
	count("count é", intl("é", false), 1)
	list("search ZZ", intl("ZZ", false), zz)
}
