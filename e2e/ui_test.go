package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/api"
	"github.com/hookd/hookd/client"
	"github.com/hookd/hookd/internal/delivery"
	hookdhttp "github.com/hookd/hookd/internal/http"
	"github.com/hookd/hookd/internal/notify"
	"github.com/hookd/hookd/internal/sqlite"
	"github.com/hookd/hookd/internal/storeopt"
	"github.com/hookd/hookd/internal/web"
)

// The end-to-end test drives the UI in headless Chromium against a hookd
// running in this process: sign in, create webhooks through the form,
// publish an event, find its delivery in the success log, find a failing
// delivery in the failed log with its attempts, payload and curl command,
// and retry it; read the overview; page and search a list of a thousand
// webhooks, one with a 255-character name. It does so at 1,280 px and at
// 390 px, and fails on a console error, on an element wider than the page,
// and on a missing text. With HOOKD_UPDATE_SCREENSHOTS=1 it writes the
// screenshots of docs/screenshots.

const (
	chromiumPath = "/usr/bin/chromium"
	stepTimeout  = 20 * time.Second

	// A laptop screen, and a phone's.
	viewportWidth  = 1280
	viewportHeight = 800
	phoneWidth     = 390
	phoneHeight    = 844

	// The list's scale: this many webhooks, one with a name of the longest
	// length the API takes and no space to break it.
	bulkWebhooks = 1000
)

var longName = strings.Repeat("N", 255)

// xssName is a name that would run script if the UI wrote it as HTML.
const xssName = `<img src=x onerror="document.body.dataset.xss=1"> & <b>bold</b>`

// chromium returns the browser to drive, or skips the test without one.
func chromium(t *testing.T) string {
	t.Helper()
	exe := chromiumPath
	if p := os.Getenv("HOOKD_CHROMIUM"); p != "" {
		exe = p
	}
	if _, err := os.Stat(exe); err != nil {
		if os.Getenv("HOOKD_REQUIRE_BROWSER") == "1" {
			t.Fatalf("HOOKD_REQUIRE_BROWSER=1 but there is no browser at %s: apt-get install -y chromium", exe)
		}
		t.Skipf("skipping the UI test: no Chromium at %s (apt-get install -y chromium, or set HOOKD_CHROMIUM); HOOKD_REQUIRE_BROWSER=1 makes this a failure", exe)
	}
	if testing.Short() {
		t.Skip("skipping the UI test in -short mode")
	}
	return exe
}

func TestUIEndToEnd(t *testing.T) {
	exe := chromium(t)
	h := startHookd(t)
	b := startBrowser(t, exe, h.url)

	// Sign in: a wrong key is refused with a message, the admin key works.
	b.navigate(h.url + "/")
	b.waitText("sign-in page", "main", "Sign in to hookd")
	b.screenshot("signin.png")
	b.typeInto("#main input[type=password]", "nope.wrong-secret")
	b.click("the Sign in button", `//button[normalize-space()='Sign in']`)
	b.waitText("a refused key", ".field-error", "hookd refused this key")
	b.eval(`document.querySelector('#main input[type=password]').value = ''`)
	// With the keyboard: Enter in the field signs in.
	b.typeInto("#main input[type=password]", h.adminKey+kb.Enter)
	b.waitText("the empty list", "main", "No webhooks yet")
	if got := b.evalString(`sessionStorage.getItem('hookd.apiKey')`); got != h.adminKey {
		t.Fatalf("the key is not in sessionStorage (got %q)", got)
	}
	if got := b.evalString(`localStorage.length === 0 ? '' : 'localStorage used'`); got != "" {
		t.Fatal("the UI wrote to localStorage")
	}

	// Create the first webhook, after one validation error from the API.
	b.click("New webhook", `//a[normalize-space()='New webhook']`)
	b.waitText("the form", "h1", "New webhook")
	b.typeInto("[data-field=name] input", "Orders to ERP")
	b.typeInto("[data-field=http_url] input", "not a url")
	b.typeInto("#main input[type=search]", "asset_added")
	b.waitText("the event search", "fieldset[data-family=ASSET_] legend", "Assets")
	b.click("the ASSET_ADDED box", `//label[normalize-space()='ASSET_ADDED']`)
	b.eval(`(() => { const s = document.querySelector('#main input[type=search]'); s.value = ''; s.dispatchEvent(new Event('input')); })()`)
	b.click("select all Collections", `//fieldset[@data-family='COLLECTION_']//button`)
	b.waitText("the selected count", ".picker-count", "8 of 123 events selected")
	b.click("Add header", `//button[normalize-space()='Add header']`)
	b.typeLast(".header-rows .header-row", 0, "X-Source")
	b.typeLast(".header-rows .header-row", 1, "hookd-e2e")
	b.click("Add header", `//button[normalize-space()='Add header']`)
	b.typeLast(".header-rows .header-row", 0, "X-Signature")
	b.typeLast(".header-rows .header-row", 1, "hmac-key")
	b.eval(`(() => { const rows = document.querySelectorAll('.header-rows .header-row'); rows[rows.length-1].querySelector('select').value = 'hmac'; })()`)
	b.click("Create webhook", `//button[normalize-space()='Create webhook']`)
	b.waitText("the URL error next to the field", "[data-field=http_url] .field-error",
		"Invalid parameter 'http_url' value \"not a url\": Must be an absolute http or https URL")
	b.eval(`document.querySelector('[data-field=http_url] input').value = ''`)
	b.typeInto("[data-field=http_url] input", h.okURL+"/hooks/orders")
	b.click("Create webhook", `//button[normalize-space()='Create webhook']`)
	b.waitText("the created notice", "#notices", "Webhook “Orders to ERP” created.")
	b.waitText("the webhook page", "h1", "Orders to ERP")
	okID := b.webhookID()

	// Edit it: the HMAC header's value stays hidden; add a hidden header.
	b.click("Edit", `//div[@class='head-actions']/a[normalize-space()='Edit']`)
	b.waitText("the edit form", "h1", "Edit Orders to ERP")
	if got := b.evalString(`document.querySelectorAll('.header-rows .header-row')[1].querySelectorAll('input')[1].placeholder`); got != "hidden: leave empty to keep it" {
		t.Errorf("the HMAC header's value field shows placeholder %q", got)
	}
	b.click("Add header", `//button[normalize-space()='Add header']`)
	b.typeLast(".header-rows .header-row", 0, "X-Api-Token")
	b.typeLast(".header-rows .header-row", 1, "s3cr3t")
	b.eval(`(() => { const rows = document.querySelectorAll('.header-rows .header-row'); rows[rows.length-1].querySelector('select').value = 'hidden'; })()`)
	b.screenshotTop("form.png", 1500)
	b.screenshotOf("form-headers.png", "#main section[aria-labelledby=sec-headers], #main .sticky-actions")
	b.click("Save changes", `//button[normalize-space()='Save changes']`)
	b.waitText("the saved notice", "#notices", "Changes saved.")
	b.waitText("the new header", ".summary", "X-Api-Token (hidden)")

	// The second webhook points to a receiver that answers 500.
	b.navigate(h.url + "/#/webhooks/new")
	b.waitText("the form", "h1", "New webhook")
	b.typeInto("[data-field=name] input", "Billing (flaky)")
	b.typeInto("[data-field=http_url] input", h.failURL+"/hooks/billing")
	b.click("the ASSET_ADDED box", `//label[normalize-space()='ASSET_ADDED']`)
	b.typeInto("[data-field=user_id] input", "42")
	b.click("Add user", `//button[normalize-space()='Add user']`)
	b.waitText("the pending user", ".chips", "User 42")
	b.click("Create webhook", `//button[normalize-space()='Create webhook']`)
	b.waitText("the created notice", "#notices", "Webhook “Billing (flaky)” created.")
	failID := b.webhookID()

	// Publish an event through the public API, as a publisher does.
	user := int64(42)
	published, err := client.New(h.url, h.adminKey).Publish(context.Background(), &api.Event{
		Event: "ASSET_ADDED", UserID: &user, Data: json.RawMessage(`{"asset_id":"a-1001"}`),
	})
	if err != nil {
		t.Fatal(err)
	}

	// The first webhook's success log shows the delivery, its attempt and
	// the answer; the chart counts it, as the server does.
	b.navigate(fmt.Sprintf("%s/#/webhooks/%d", h.url, okID))
	b.waitText("the success log", ".entries", "ASSET_ADDED")
	b.waitText("the success log", ".entries", "HTTP 200")
	b.waitText("the success log", ".entries", "1 attempt")
	b.waitText("the delivery's webhook-id", ".entries .ids", "webhook-id msg_")
	b.click("the attempts", `//summary[starts-with(normalize-space(), 'Attempts, in order')]`)
	b.click("the response body", `//summary[starts-with(normalize-space(), 'Response body')]`)
	b.waitText("the response body", ".entries pre", `{"received":true}`)
	b.waitText("the chart", ".chart figcaption", "Delivered: 1")
	b.click("Reveal", `//button[normalize-space()='Reveal']`)
	b.waitText("the secret", "code.secret", "whsec_")
	b.click("Hide", `//button[normalize-space()='Hide']`)
	b.click("Send test event", `//button[normalize-space()='Send test event']`)
	b.waitText("the test event", "#main", "Queued test event ASSET_ADDED")
	b.waitText("the test delivery", ".chart figcaption", "Delivered: 2")
	b.screenshot("webhook.png")
	b.checkPage("the webhook page")

	// The second one's failed log shows the delivery once, failed for good
	// after its two attempts, in order; no stale "next attempt" is left.
	b.navigate(fmt.Sprintf("%s/#/webhooks/%d?tab=failed", h.url, failID))
	b.waitText("the failed log", ".entries", "Failed for good")
	b.waitText("the failed log", ".entries", "No retry left.")
	b.waitText("the failed log", ".entries", "2 attempts")
	b.waitText("the failed log", ".entries", "HTTP 500")
	if got := b.evalString(`document.querySelector('.entries').textContent.includes('Next attempt') ? 'stale' : ''`); got != "" {
		t.Error("a delivery that failed for good still shows a next attempt")
	}
	b.click("the attempts", `//ol[@class='entries']/li[1]//summary[starts-with(normalize-space(), 'Attempts, in order')]`)
	b.waitText("the first attempt", ".attempts li:first-child", "attempt 1")
	b.waitText("the second attempt", ".attempts li:last-child", "attempt 2")
	b.waitText("the error class", ".attempts .entry-error", "status")
	b.waitText("the chart", ".chart figcaption", "Failed attempts: 2")
	b.click("the response body", `//ol[@class='attempts']/li[1]//summary[starts-with(normalize-space(), 'Response body')]`)
	b.waitText("the response body", ".attempts pre", "upstream database unavailable")

	// Its payload, and a curl command without the secret that copies.
	b.click("the payload", `//summary[normalize-space()='Payload and curl command']`)
	b.waitText("the payload", ".delivery-extra pre.payload", `"asset_id": "a-1001"`)
	b.waitText("the curl command", "pre.curl", "curl -X 'POST' '"+h.failURL+"/hooks/billing'")
	b.waitText("the signature placeholder", "pre.curl", "webhook-signature: v1,<signature: computed with the signing secret>")
	if got := b.evalString(`document.querySelector('pre.curl').textContent`); strings.Contains(got, "whsec_") || !strings.Contains(got, `--data-raw '{"id":`) {
		t.Errorf("the curl command:\n%s", got)
	}
	b.click("Copy curl command", `//button[normalize-space()='Copy curl command']`)
	b.waitTrue("the copy's answer", `document.querySelector('.delivery-extra .actions .hint').textContent !== ''`)
	if got := b.evalString(`(() => {
		const said = document.querySelector('.delivery-extra .actions .hint').textContent;
		const curl = document.querySelector('pre.curl').textContent;
		if (said === 'Copied to the clipboard.') return '';
		return said.startsWith('Selected') && getSelection().toString() === curl ? '' : said + ' / ' + getSelection().toString();
	})()`); got != "" {
		t.Errorf("Copy curl command: %s", got)
	}
	b.screenshot("failed-log.png")

	// Retry all asks first; cancelled, nothing happens.
	b.click("Retry all failed deliveries", `//button[normalize-space()='Retry all failed deliveries']`)
	b.waitText("the confirmation", "dialog", "Retry every failed delivery?")
	b.click("Cancel", `//dialog//button[normalize-space()='Cancel']`)
	b.waitGone("the dialog", "dialog")
	b.waitText("the failed log", ".entries", "No retry left.")

	// The receiver recovers; retrying the delivery (after a confirmation)
	// gets it through.
	h.failing.Store(false)
	b.click("Retry this delivery", `//button[normalize-space()='Retry this delivery']`)
	b.click("Retry delivery", `//dialog//button[normalize-space()='Retry delivery']`)
	b.waitText("the retry notice", "#notices", "re-queued")
	// The log tabs follow the keyboard: ArrowLeft moves to the success log.
	b.do("press ArrowLeft on the tabs", chromedp.SendKeys(chromedp.CSS("[role=tab][aria-selected=true]"), kb.ArrowLeft))
	b.waitText("the selected tab", "[role=tab][aria-selected=true]", "Delivered")
	b.waitText("the retried delivery", ".entries", "3 attempts")
	b.waitText("the retried delivery", ".entries", "HTTP 200")

	// Nothing failed is left: retry all says so, after its confirmation.
	b.do("press ArrowRight on the tabs", chromedp.SendKeys(chromedp.CSS("[role=tab][aria-selected=true]"), kb.ArrowRight))
	b.waitText("the failed log", "main", "No failed delivery")
	b.click("Retry all failed deliveries", `//button[normalize-space()='Retry all failed deliveries']`)
	b.click("Retry all", `//dialog//button[normalize-space()='Retry all']`)
	b.waitText("the retry notice", "#notices", "Nothing to retry")

	// Disable and enable again, through the confirmation dialog.
	b.click("Disable", `//div[@class='head-actions']/button[normalize-space()='Disable']`)
	b.click("Disable webhook", `//dialog//button[normalize-space()='Disable webhook']`)
	b.waitText("the disabled badge", ".page-head", "Disabled")
	b.click("Enable", `//div[@class='head-actions']/button[normalize-space()='Enable']`)
	b.waitText("the enabled badge", ".page-head", "Enabled")

	// Operational notifications: subscribe the operators' URL through the
	// form (after its validation errors), change it, disable and enable it.
	admin := client.New(h.url, h.adminKey)
	opsID := b.subscribeNotifications(h)

	// A receiver that is down opens its webhook's circuit; "Probe now"
	// (after a confirmation) sends one attempt at once, not after the
	// cool-down.
	down, err := admin.CreateWebhook(context.Background(), api.NewWebhook{
		Name: "Down receiver", HTTPURL: h.downURL + "/hooks", HTTPMethod: "POST", TriggerEvents: []string{"PROJECT_ADDED_FAVORITE"}})
	if err != nil {
		t.Fatal(err)
	}
	// Five deliveries: their first attempts, one at a time while the
	// receiver has never answered (the dispatcher's windows), open the
	// circuit (five failures in a row); their retries, the last attempts,
	// wait behind it.
	for range 5 {
		if _, err := admin.Publish(context.Background(), &api.Event{Event: "PROJECT_ADDED_FAVORITE", Data: json.RawMessage(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
	b.navigate(fmt.Sprintf("%s/#/webhooks/%d", h.url, down.ID))
	b.waitText("the open circuit", "#sec-circuit + p", "Open: the receiver kept failing")
	b.waitText("the circuit badge", ".page-head", "Circuit open")
	for len(h.downHit) > 0 {
		<-h.downHit // the attempts that opened the circuit
	}
	b.click("Probe now", `//button[normalize-space()='Probe now']`)
	b.waitText("the confirmation", "dialog", "Probe the receiver now?")
	b.click("Probe now in the dialog", `//dialog//button[normalize-space()='Probe now']`)
	b.waitText("the probe notice", "#notices", "The probe is due")
	select {
	case <-h.downHit:
	case <-time.After(stepTimeout):
		t.Fatalf("no probe reached the receiver in %s (its cool-down is 30 s)", stepTimeout)
	}
	b.checkPage("the page of an open circuit")
	downPage := fmt.Sprintf("%s/#/webhooks/%d", h.url, down.ID)

	// The subscription heard of it: the circuit that opened, and the
	// delivery that the failed probe ended, in its log, as sent.
	b.navigate(fmt.Sprintf("%s/#/notifications/%d", h.url, opsID))
	b.waitText("the circuit.opened notification", ".entries", "circuit.opened")
	b.waitText("the delivery.failed notification", ".entries", "delivery.failed")
	b.waitText("its answer", ".entries", "HTTP 200")
	b.screenshot("notification.png")
	b.checkPage("a subscription with its log")
	b.do("press ArrowRight on the tabs", chromedp.SendKeys(chromedp.CSS("[role=tab][aria-selected=true]"), kb.ArrowRight))
	b.waitText("the failed log", "main", "No failed attempt")
	if got := b.evalString(`location.hash`); got != fmt.Sprintf("#/notifications/%d?tab=failed", opsID) {
		t.Errorf("the failed log's address: %s", got)
	}
	b.navigate(downPage)
	b.waitText("the settings", "#sec-settings", "Delivery settings")

	// Its delivery settings: a refused value is shown next to its field,
	// a good one is saved after a confirmation.
	b.typeInto("input[name=max_in_flight]", "0")
	b.click("Save settings", `//button[normalize-space()='Save settings']`)
	b.click("Save settings in the dialog", `//dialog//button[normalize-space()='Save settings']`)
	b.waitText("the error next to the field", "section[aria-labelledby=sec-settings] .field-error", "Must be an Integer from 1 to 1000")
	b.eval(`document.querySelector('input[name=max_in_flight]').value = ''`)
	b.typeInto("input[name=max_in_flight]", "2")
	b.typeInto("input[name=max_per_second]", "0.5")
	b.click("Save settings", `//button[normalize-space()='Save settings']`)
	b.waitText("the confirmation", "dialog", "Attempts at once: 2; Attempts per second: 0.5")
	b.click("Save settings in the dialog", `//dialog//button[normalize-space()='Save settings']`)
	b.waitText("the saved notice", "#notices", "Delivery settings saved.")
	if st, err := admin.Settings(context.Background(), down.ID); err != nil || st.MaxInFlight == nil || *st.MaxInFlight != 2 ||
		st.MaxPerSecond == nil || *st.MaxPerSecond != 0.5 {
		t.Errorf("the saved settings: %+v, %v", st, err)
	}
	// Ordering by a field of the data: a name hookd refuses is shown under
	// the field, a good one is saved and described.
	b.selectOption("select[name=ordering]", "data")
	b.typeInto("input[name=ordering_field]", "order id")
	b.click("Save settings", `//button[normalize-space()='Save settings']`)
	b.waitText("the confirmation", "dialog", "Ordering: one lane per value of data.order id")
	b.click("Save settings in the dialog", `//dialog//button[normalize-space()='Save settings']`)
	b.waitText("the ordering error next to the field", "[data-setting=ordering] .field-error",
		`Invalid parameter 'ordering' value "data.order id": Must be one of "webhook"`)
	b.eval(`document.querySelector('input[name=ordering_field]').value = ''`)
	b.typeInto("input[name=ordering_field]", "order_id")
	b.click("Save settings", `//button[normalize-space()='Save settings']`)
	b.click("Save settings in the dialog", `//dialog//button[normalize-space()='Save settings']`)
	b.waitText("the saved notice", "#notices", "Delivery settings saved.")
	b.waitText("the ordering", "#sec-settings ~ .summary", "one lane per value of data.order_id")
	if st, err := admin.Settings(context.Background(), down.ID); err != nil || st.Ordering == nil || *st.Ordering != "data.order_id" {
		t.Errorf("the saved ordering: %+v, %v", st, err)
	}
	// A payload filter: CEL's refusal, with its position, under the field;
	// then a good one, shown as saved.
	b.typeInto("textarea[name=filter]", `evnt == "A"`)
	b.click("Save settings", `//button[normalize-space()='Save settings']`)
	b.click("Save settings in the dialog", `//dialog//button[normalize-space()='Save settings']`)
	b.waitText("the filter error next to the field", "[data-setting=filter] .field-error",
		"Not a valid filter: line 1, column 1: undeclared reference to 'evnt'")
	b.eval(`document.querySelector('textarea[name=filter]').value = ''`)
	b.typeInto("textarea[name=filter]", `has(data.order_id) && event != "USER_ADDED"`)
	b.click("Save settings", `//button[normalize-space()='Save settings']`)
	b.click("Save settings in the dialog", `//dialog//button[normalize-space()='Save settings']`)
	b.waitText("the saved notice", "#notices", "Delivery settings saved.")
	b.waitText("the filter", "#sec-settings ~ .summary code", `has(data.order_id) && event != "USER_ADDED"`)
	if st, err := admin.Settings(context.Background(), down.ID); err != nil || st.Filter == nil || *st.Filter != `has(data.order_id) && event != "USER_ADDED"` {
		t.Errorf("the saved filter: %+v, %v", st, err)
	}
	b.screenshotOf("settings.png", "section[aria-labelledby=sec-settings]")
	b.checkPage("the settings with an ordering")

	// A third webhook, disabled, scoped to a project of the registry found
	// in the form by part of its title.
	project := "spring-campaign"
	if _, err := admin.CreateProject(context.Background(), api.NewProject{ID: project, Title: "Spring campaign"}); err != nil {
		t.Fatal(err)
	}
	b.navigate(h.url + "/#/webhooks/new")
	b.waitText("the form", "h1", "New webhook")
	b.typeInto("[data-field=name] input", "Archive sync")
	b.typeInto("[data-field=http_url] input", "https://archive.example.com/hooks")
	b.selectOption("select[name=http_method]", "PUT")
	b.typeInto("#main input[type=search]", "project_")
	for _, event := range []string{"PROJECT_ADDED", "PROJECT_REMOVED", "PROJECT_PURGED"} {
		b.click("the "+event+" box", fmt.Sprintf(`//label[normalize-space()='%s']`, event))
	}
	b.pickProject("campaign", project, "Spring campaign")
	b.checkPage("the form with a project")
	b.click("Enabled", `//label[normalize-space()='Enabled']`)
	b.click("Create webhook", `//button[normalize-space()='Create webhook']`)
	b.waitText("the created notice", "#notices", "Webhook “Archive sync” created.")
	archive, err := admin.Webhook(context.Background(), b.webhookID())
	if err != nil {
		t.Fatal(err)
	}
	if archive.ProjectID == nil || *archive.ProjectID != project || !archive.Disabled || archive.HTTPMethod != "PUT" || len(archive.TriggerEvents) != 3 {
		t.Errorf("the webhook made in the form: project %v, disabled %t, %s, %v", archive.ProjectID, archive.Disabled, archive.HTTPMethod, archive.TriggerEvents)
	}

	// The list shows them all, with their last runs, and filters.
	b.click("the Webhooks link", `//nav[@id='nav']/a[normalize-space()='Webhooks']`)
	b.waitText("the list", "table.webhooks", "Orders to ERP")
	b.waitText("the list", "table.webhooks", "Billing (flaky)")
	b.waitText("the list", "table.webhooks", "Spring campaign")
	b.waitText("the last run", fmt.Sprintf("tr[data-webhook-id='%d']", failID), "Success")
	b.waitText("the never-run webhook", fmt.Sprintf("tr[data-webhook-id='%d']", archive.ID), "Never run")
	b.screenshot("webhooks.png")
	b.checkPage("the list, with an open circuit")
	// The project filter names a project by its title: its webhooks, then
	// the webhooks of no project.
	b.waitText("the project's option", "select[name=project] option[value=spring-campaign]", "Spring campaign (spring-campaign)")
	// An option holds plain text: the title and the id, which their owners
	// chose and which may hold bidi controls, each go between the isolate
	// marks (FSI, PDI), so neither reorders the text around it.
	if got := b.evalString(`document.querySelector('select[name=project] option[value=spring-campaign]').textContent`); got != "\u2068Spring campaign\u2069\u2068 (\u2069\u2068spring-campaign\u2069\u2068)\u2069" {
		t.Errorf("the project's option: %q, want its title and id each between isolate marks", got)
	}
	b.selectOption("select[name=project]", project)
	b.waitGone("the project filter", fmt.Sprintf("tr[data-webhook-id='%d']", okID))
	b.waitText("the project filter", fmt.Sprintf("tr[data-webhook-id='%d']", archive.ID), "Spring campaign")
	if got := b.evalString(`location.hash`); got != "#/webhooks?project=spring-campaign" {
		t.Errorf("the project filter's address: %s", got)
	}
	b.selectOption("select[name=project]", "-")
	b.waitGone("the no-project filter", fmt.Sprintf("tr[data-webhook-id='%d']", archive.ID))
	b.waitText("the no-project filter", fmt.Sprintf("tr[data-webhook-id='%d']", okID), "Orders to ERP")
	b.selectOption("select[name=project]", "")
	b.selectOption("select[name=state]", "disabled")
	b.waitText("the state filter", fmt.Sprintf("tr[data-webhook-id='%d']", archive.ID), "Disabled")
	b.waitGone("the state filter", fmt.Sprintf("tr[data-webhook-id='%d']", okID))
	b.selectOption("select[name=state]", "enabled")
	b.selectOption("select[name=project]", project)
	b.waitText("the filters", "main", "No webhook matches these filters")
	b.click("Clear filters", `//a[normalize-space()='Clear filters']`)
	b.waitText("the cleared filters", "table.webhooks", "Archive sync")

	// The overview: the figures, counted by the server.
	b.click("the Overview link", `//nav[@id='nav']/a[normalize-space()='Overview']`)
	b.waitText("the overview", "h1", "Overview")
	// The notifications' attempts are attempts too.
	b.waitFigure("Delivered, last hour", fmt.Sprint(3+h.opsHits.Load()))
	b.waitFigure("Failed attempts, last 24 hours", fmt.Sprint(2+h.downHits.Load()))
	b.waitFigure("Circuits open", "1")
	b.waitFigure("Webhooks failing", "1")
	b.waitFigure("Disabled", "1")
	b.waitText("the hour chart", "#main .chart figcaption", fmt.Sprintf("Delivered: %d", 3+h.opsHits.Load()))
	b.screenshot("overview.png")
	b.checkPage("the overview")

	// After an incident: retry every webhook's failed deliveries, after a
	// confirmation; a range hookd refuses is shown next to its field.
	b.eval(`document.querySelector('#main input[name=since]').value = ''`)
	b.click("Retry failed deliveries", `//button[normalize-space()='Retry failed deliveries…']`)
	b.click("Retry them all", `//dialog//button[normalize-space()='Retry them all']`)
	b.waitText("the missing since", "#sec-retry-failed ~ form .field-error", "Missing parameter since")
	b.eval(`document.querySelector('#main input[name=since]').value = new Date(Date.now() - 3600e3 - new Date().getTimezoneOffset() * 60e3).toISOString().slice(0, 19)`)
	b.click("Retry failed deliveries", `//button[normalize-space()='Retry failed deliveries…']`)
	b.waitText("the confirmation", "dialog", "Retry the failed deliveries of every webhook?")
	b.click("Cancel", `//dialog//button[normalize-space()='Cancel']`)
	b.waitGone("the dialog", "dialog")
	b.click("Retry failed deliveries", `//button[normalize-space()='Retry failed deliveries…']`)
	b.click("Retry them all", `//dialog//button[normalize-space()='Retry them all']`)
	b.waitText("the retried deliveries", "#notices", "Re-queued")
	// Its figures lead to the webhooks they count.
	b.click("the failing webhooks", `//div[@class='figure figure-alert'][dt='Webhooks failing']//a`)
	b.waitText("the failing webhooks", ".list-status", "1 webhook ·")
	b.waitText("the failing webhooks", "table.webhooks", "Down receiver")
	if got := b.evalString(`document.querySelector('select[name=state]').value + ' ' + location.hash`); got != "failing #/webhooks?state=failing" {
		t.Errorf("the failing webhooks' filter: %s", got)
	}

	b.eraseData(h, okID, published.ID)
	replayed := b.replay(h, okID)

	// A thousand webhooks, one with the longest name, page and search.
	longID := h.addBulk(t)
	b.navigate(h.url + "/#/webhooks")
	total := bulkWebhooks + 4 // and the four made above
	b.waitText("the list's count", ".list-status", fmt.Sprintf("1–25 of %d webhooks", total))
	b.waitText("the pager", ".pager", fmt.Sprintf("Page 1 of %d", (total+24)/25))
	b.click("Next", `//nav[@class='pager']//button[normalize-space()='Next →']`)
	b.waitText("page 2", ".list-status", fmt.Sprintf("26–50 of %d webhooks", total))
	if got := b.evalString(`location.hash`); got != "#/webhooks?page=2" {
		t.Errorf("page 2's address: %s", got)
	}
	b.click("Last", `//nav[@class='pager']//button[normalize-space()='Last »']`)
	b.waitText("the last page", fmt.Sprintf("tr[data-webhook-id='%d']", longID), "NNNN")
	b.checkPage("the last page of the list, with the long name")
	// The long name is cut, whole in its title.
	if got := b.evalString(fmt.Sprintf(`(() => { const a = document.querySelector("tr[data-webhook-id='%d'] a"); return a.scrollWidth > a.clientWidth && a.title.length === 255 ? '' : a.scrollWidth + ' ' + a.clientWidth + ' ' + a.title.length; })()`, longID)); got != "" {
		t.Errorf("the long name is not cut with its title: %s", got)
	}
	b.typeInto("#main input[type=search]", "flaky")
	b.waitText("the search", ".list-status", "1 webhook ·")
	b.waitText("the search", "table.webhooks", "Billing (flaky)")
	if got := b.evalString(`location.hash`); got != "#/webhooks?q=flaky" {
		t.Errorf("the search's address: %s", got)
	}
	b.screenshot("webhooks-search.png")

	// Markup in a name is text, in the list and on the webhook's page.
	b.eval(`(() => { const s = document.querySelector('#main input[type=search]'); s.value = ''; s.dispatchEvent(new Event('input')); })()`)
	b.typeInto("#main input[type=search]", "onerror")
	b.waitText("the markup as text", "table.webhooks", xssName)
	b.click("the webhook with markup", `//table[@class='webhooks']//a`)
	b.waitText("its page", "h1", xssName)
	if got := b.evalString(`document.querySelector('#main img, #main b') || document.body.dataset.xss ? 'markup ran' : ''`); got != "" {
		t.Error("a webhook's name was written as HTML")
	}

	// At 390 px nothing is wider than the page, and everything is there.
	b.setViewport(phoneWidth, phoneHeight)
	b.navigate(h.url + "/#/webhooks?sort=-id")
	b.waitText("the list at 390 px", fmt.Sprintf("tr[data-webhook-id='%d']", longID), "NNNN")
	b.checkPage("the list")
	b.screenshot("webhooks-390.png")
	b.navigate(fmt.Sprintf("%s/#/webhooks/%d", h.url, longID))
	b.waitText("the long webhook at 390 px", "h1", longName)
	b.waitText("its test event card", "#sec-test", "Test event")
	b.waitText("its signing secret card", "#sec-secret", "Signing secret")
	b.waitText("its settings", "#sec-settings", "Delivery settings")
	b.checkPage("the long webhook's page")
	b.screenshot("webhook-390.png")
	b.navigate(fmt.Sprintf("%s/#/webhooks/%d?tab=failed", h.url, failID))
	b.waitText("the failed log at 390 px", "main", "No failed delivery")
	b.do("press ArrowLeft on the tabs", chromedp.SendKeys(chromedp.CSS("[role=tab][aria-selected=true]"), kb.ArrowLeft))
	b.waitText("the success log at 390 px", ".entries", "3 attempts")
	b.click("the payload", `//summary[normalize-space()='Payload and curl command']`)
	b.waitText("the curl command at 390 px", "pre.curl", "curl -X")
	b.checkPage("the deliveries")
	b.navigate(h.url + "/#/overview")
	b.waitFigure("Circuits open", "1")
	b.checkPage("the overview")
	b.navigate(h.url + "/#/notifications")
	b.waitText("the notifications at 390 px", "table.notifications", h.opsURL)
	b.checkPage("the notifications")
	b.screenshot("notifications-390.png")
	b.navigate(fmt.Sprintf("%s/#/notifications/%d", h.url, opsID))
	b.waitText("a subscription at 390 px", ".entries", "circuit.opened")
	b.click("Reveal", `//button[normalize-space()='Reveal']`)
	b.waitText("the secret", "code.secret", "whsec_")
	b.checkPage("a subscription")
	b.navigate(fmt.Sprintf("%s/#/notifications/%d/edit", h.url, opsID))
	b.waitText("the subscription form at 390 px", "h1", "Edit subscription")
	b.checkPage("the subscription form")
	b.navigate(h.url + "/#/erase?scope=project&id=spring-campaign")
	b.waitText("the erase page at 390 px", "label", "Project id")
	b.click("Erase…", `//button[normalize-space()='Erase…']`)
	b.waitText("the confirmation at 390 px", "dialog", "Type spring-campaign to confirm")
	b.checkPage("the erase page and its confirmation")
	b.screenshot("erase-390.png")
	b.click("Cancel", `//dialog//button[normalize-space()='Cancel']`)
	b.waitGone("the dialog", "dialog")
	b.navigate(downPage)
	b.waitText("the settings at 390 px", "#sec-settings ~ .summary", "data.order_id")
	b.checkPage("the settings at 390 px")
	b.navigate(h.url + "/#/webhooks/new")
	b.waitText("the form at 390 px", "h1", "New webhook")
	b.waitText("select all", "fieldset[data-family=COLLECTION_] .family-tools", "Select all")
	b.checkPage("the form")
	// "Select all" sits inside its group, below the legend, not on its border.
	if got := b.evalString(`(() => {
		const fs = document.querySelector('fieldset[data-family=COLLECTION_]');
		const tools = fs.querySelector('.family-tools').getBoundingClientRect();
		const legend = fs.querySelector('legend').getBoundingClientRect();
		return tools.top >= legend.bottom - 1 ? '' : 'tools at ' + tools.top + ', legend ends at ' + legend.bottom;
	})()`); got != "" {
		t.Errorf("Select all: %s", got)
	}
	b.setViewport(viewportWidth, viewportHeight)

	// Every request reached a receiver as it should.
	if n := h.okHits.Load(); n != 2+int32(replayed) {
		t.Errorf("the OK receiver got %d requests, want %d (event, test event and the replayed ones)", n, 2+replayed)
	}
	if n := h.failHits.Load(); n != 3 {
		t.Errorf("the flaky receiver got %d requests, want 3 (two failed attempts and the retry)", n)
	}
	b.hostileData(h)
	b.noErrors()
}

// TestUIProjectRegistry drives the UI over a registry larger than a page
// of it, as one fed by PROJECT_ADDED events is: sign-in, the form's
// project suggestions that find a project beyond the first 100, the list's
// project filter and titles, and a webhook whose project left the registry.
// The UI never asks for more than a page of projects.
func TestUIProjectRegistry(t *testing.T) {
	exe := chromium(t)
	h := startHookd(t)
	b := startBrowser(t, exe, h.url)
	ctx := context.Background()
	admin := client.New(h.url, h.adminKey)

	// Ids in the order of creation, so that the registry's order (oldest
	// first, then by id) is theirs: far is the 121st.
	const projects = 150
	const far, farTitle = "p-120", "Northern Lights retrospective"
	for i := range projects {
		p := api.NewProject{ID: fmt.Sprintf("p-%03d", i), Title: fmt.Sprintf("Catalogue %03d", i)}
		if p.ID == far {
			p.Title = farTitle
		}
		if _, err := admin.CreateProject(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	if first := firstProjectPage(t, h); len(first) != 100 || first[99].ID != "p-099" {
		t.Fatalf("the registry's first page: %d projects", len(first))
	}

	// Sign in: the key is checked with a page of one project.
	b.navigate(h.url + "/")
	b.waitText("sign-in page", "main", "Sign in to hookd")
	b.typeInto("#main input[type=password]", h.adminKey+kb.Enter)
	b.waitText("the empty list", "main", "No webhooks yet")
	b.checkProjectRequests("the sign-in")
	if got := b.evalString(`performance.getEntriesByType('resource').some((e) => e.name.endsWith('/api/v2/admin/projects?limit=1')) ? '' : 'no'`); got != "" {
		t.Error("the sign-in did not check the key with ?limit=1")
	}

	// A webhook scoped to the far project, found by part of its title.
	b.click("New webhook", `//a[normalize-space()='New webhook']`)
	b.waitText("the form", "h1", "New webhook")
	b.typeInto("[data-field=name] input", "Lights archive")
	b.typeInto("[data-field=http_url] input", "https://lights.example/hooks")
	b.click("the ASSET_ADDED box", `//label[normalize-space()='ASSET_ADDED']`)
	b.pickProject("lights", far, farTitle)
	if got := b.evalString(`document.querySelectorAll('#main datalist option').length === 1 ? '' : document.querySelector('#main datalist').textContent`); got != "" {
		t.Errorf("the suggestions for %q: %s", "lights", got)
	}
	b.click("Create webhook", `//button[normalize-space()='Create webhook']`)
	b.waitText("the created notice", "#notices", "Webhook “Lights archive” created.")
	lightsID := b.webhookID()
	if w, err := admin.Webhook(ctx, lightsID); err != nil || w.ProjectID == nil || *w.ProjectID != far {
		t.Fatalf("the webhook made in the form: %+v, %v", w, err)
	}

	// A webhook whose project left the registry: the form shows it and
	// keeps it when something else changes.
	gone := "p-gone"
	if _, err := admin.CreateProject(ctx, api.NewProject{ID: gone, Title: "Gone soon"}); err != nil {
		t.Fatal(err)
	}
	orphan, err := admin.CreateWebhook(ctx, api.NewWebhook{Name: "Orphan", HTTPURL: "https://orphan.example/hooks",
		HTTPMethod: "POST", TriggerEvents: []string{"ASSET_ADDED"}, ProjectID: &gone})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.store.DeleteProject(ctx, gone); err != nil {
		t.Fatal(err)
	}
	b.navigate(fmt.Sprintf("%s/#/webhooks/%d/edit", h.url, orphan.ID))
	b.waitText("the edit form", "h1", "Edit Orphan")
	b.waitText("the project not in the registry", "[data-field=project_id] .hint", "Not in hookd’s registry")
	if got := b.evalString(`document.querySelector('input[name=project_id]').value`); got != gone {
		t.Errorf("the project field shows %q, want %q", got, gone)
	}
	b.typeInto("[data-field=name] input", " webhook")
	b.click("Save changes", `//button[normalize-space()='Save changes']`)
	b.waitText("the saved notice", "#notices", "Changes saved.")
	if w, err := admin.Webhook(ctx, orphan.ID); err != nil || w.Name != "Orphan webhook" || w.ProjectID == nil || *w.ProjectID != gone {
		t.Fatalf("the webhook saved with its project gone: %+v, %v", w, err)
	}
	// Typing a project's id scopes it to that project.
	b.click("Edit", `//div[@class='head-actions']/a[normalize-space()='Edit']`)
	b.waitText("the edit form", "h1", "Edit Orphan webhook")
	b.eval(`document.querySelector('input[name=project_id]').value = ''`)
	b.typeInto("input[name=project_id]", far)
	b.waitText("the typed project's title", "[data-field=project_id] .hint", "Project “"+farTitle+"”.")
	b.click("Save changes", `//button[normalize-space()='Save changes']`)
	b.waitText("the saved notice", "#notices", "Changes saved.")
	if w, err := admin.Webhook(ctx, orphan.ID); err != nil || w.ProjectID == nil || *w.ProjectID != far {
		t.Fatalf("the webhook scoped by typing an id: %+v, %v", w, err)
	}
	b.checkProjectRequests("the form")

	// The list names the far project by its title, and filters by it.
	b.click("the Webhooks link", `//nav[@id='nav']/a[normalize-space()='Webhooks']`)
	b.waitText("the far project's title", fmt.Sprintf("tr[data-webhook-id='%d'] td.project", lightsID), farTitle)
	b.waitText("the far project's option", "select[name=project] option[value='"+far+"']", farTitle+" ("+far+")")
	b.selectOption("select[name=project]", far)
	b.waitText("the project filter", ".list-status", "2 webhooks ·")
	b.checkPage("the list filtered by a far project")
	b.checkProjectRequests("the list")
}

// firstProjectPage reads the registry's first page as the API gives it
// without parameters.
func firstProjectPage(t *testing.T, h *hookdUnderTest) []api.Project {
	t.Helper()
	req, err := http.NewRequest("GET", h.url+"/api/v2/admin/projects", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-API-KEY", h.adminKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var page api.ProjectsResponse
	if err := json.NewDecoder(res.Body).Decode(&page); err != nil || res.StatusCode != 200 {
		t.Fatalf("GET /api/v2/admin/projects: %d, %v", res.StatusCode, err)
	}
	return page.Projects
}

// pickProject types part of a project's title into the webhook form's
// project field, waits for the project among the suggestions, with its
// title and id, and picks it as the browser does (it sets the field to
// the option's value and fires input); the field then names the title.
func (b *browser) pickProject(typed, id, title string) {
	b.t.Helper()
	b.typeInto("input[name=project_id]", typed)
	b.waitText("the suggestion of "+id, fmt.Sprintf("#main datalist option[value=%s]", js(id)), title+" ("+id+")")
	b.eval(fmt.Sprintf(`(() => {
		const input = document.querySelector('input[name=project_id]');
		input.value = %s;
		input.dispatchEvent(new InputEvent('input', { inputType: 'insertReplacementText' }));
	})()`, js(id)))
	b.waitText("the picked project's title", "[data-field=project_id] .hint", "Project “"+title+"”.")
}

// checkProjectRequests fails the test when the page, since it was loaded,
// asked for the project registry without a limit of at most 100: the
// registry may hold 100,000 projects.
func (b *browser) checkProjectRequests(what string) {
	b.t.Helper()
	if got := b.evalString(`performance.getEntriesByType('resource').map((e) => new URL(e.name))
		.filter((u) => u.pathname === '/api/v2/admin/projects')
		.filter((u) => !(Number(u.searchParams.get('limit')) >= 1 && Number(u.searchParams.get('limit')) <= 100))
		.map((u) => u.search || '(no parameters)').join(', ')`); got != "" {
		b.t.Errorf("%s asked for the project registry without a limit of at most 100: %s", what, got)
	}
}

// hostileData shows what any publisher may send without spoiling the
// page: an event id with a bidi override (U+202E) reorders no text around
// it, and a payload of thousands of nested arrays, which indented would run
// to 44 million characters, is shown compact at once, with its curl command
// and its erase link. Its webhook is made last, so that the receivers'
// counts above leave it out.
func (b *browser) hostileData(h *hookdUnderTest) {
	b.t.Helper()
	ctx := context.Background()
	admin := client.New(h.url, h.adminKey)
	w, err := admin.CreateWebhook(ctx, api.NewWebhook{
		Name: "Hostile data", HTTPURL: h.okURL + "/hooks/hostile", HTTPMethod: "POST", TriggerEvents: []string{"LOADER_PING"}})
	if err != nil {
		b.t.Fatal(err)
	}
	const spoofID = "evt_\u202espoof"
	nested := strings.Repeat("[", 4700) + strings.Repeat("]", 4700)
	if _, err := admin.Publish(ctx, &api.Event{ID: spoofID, Event: "LOADER_PING", Data: json.RawMessage(`{"nested":` + nested + `}`)}); err != nil {
		b.t.Fatal(err)
	}
	b.navigate(fmt.Sprintf("%s/#/webhooks/%d", h.url, w.ID))
	b.waitText("the delivery", ".entries", "HTTP 200")

	// The event id's override ends with its element: the label before it
	// is laid out wholly to its left, the one after it wholly to its right.
	if got := b.evalString(fmt.Sprintf(`(() => {
		const code = [...document.querySelectorAll('.entries .ids code')].find((c) => c.textContent === %s);
		if (!code) return 'no event id shown';
		const p = code.parentElement;
		const edges = (range) => [...range.getClientRects()].filter((r) => r.width > 0);
		const before = document.createRange(), after = document.createRange();
		before.setStart(p, 0);
		before.setEndBefore(code);
		after.setStartAfter(code);
		after.setEnd(p, p.childNodes.length);
		const inside = document.createRange();
		inside.selectNodeContents(code);
		const id = edges(inside);
		const left = Math.min(...id.map((r) => r.left)), right = Math.max(...id.map((r) => r.right));
		const bad = [...edges(before).filter((r) => r.right > left + 0.5), ...edges(after).filter((r) => r.left < right - 0.5)];
		return bad.length ? 'the label around the event id is reordered: ' + p.textContent : '';
	})()`, js(spoofID))); got != "" {
		b.t.Error(got)
	}

	b.click("the payload", `//summary[normalize-space()='Payload and curl command']`)
	b.waitText("the compact payload's note", ".delivery-extra", "Shown compact, as stored")
	b.waitText("the curl command", "pre.curl", "curl -X 'POST'")
	b.waitText("the erase link", ".delivery-extra a", "Erase this event’s data…")
	if got := b.evalString(`document.querySelector('.delivery-extra pre.payload').textContent`); !strings.Contains(got, `"data":{"nested":`+nested+`}`) {
		b.t.Errorf("the payload is not shown compact, as stored: %.200s", got)
	}
	b.checkPage("a payload of nested arrays")
}

// subscribeNotifications subscribes h's operators' receiver to operational
// notifications through the UI, as a new operator would: the empty list,
// the form's validation errors next to their fields, a change of kinds, the
// signing secret, disable and enable; and deletes a second subscription
// whose URL holds markup, shown as text. It returns the subscription's id.
func (b *browser) subscribeNotifications(h *hookdUnderTest) int64 {
	b.t.Helper()
	b.click("the Notifications link", `//nav[@id='nav']/a[normalize-space()='Notifications']`)
	b.waitText("the empty subscriptions", "main", "No subscriptions yet")
	b.checkPage("the empty notifications")
	b.click("Subscribe a URL", `//a[normalize-space()='Subscribe a URL']`)
	b.waitText("the form", "h1", "New subscription")
	b.waitText("the kinds", "fieldset.kinds", "delivery.failed")
	b.typeInto("input[name=url]", "ops.example.com/hookd")
	b.click("Subscribe", `//button[normalize-space()='Subscribe']`)
	b.waitText("the URL error next to the field", "[data-field=url] .field-error",
		`Invalid parameter 'url' value "ops.example.com/hookd": Must be an absolute http or https URL`)
	b.eval(`document.querySelector('input[name=url]').value = ''`)
	b.typeInto("input[name=url]", h.opsURL+"/hookd")
	b.eval(`document.querySelectorAll('input[name=kinds]').forEach((box) => { box.checked = false; })`)
	b.click("Subscribe", `//button[normalize-space()='Subscribe']`)
	b.waitText("the kinds error next to them", "[data-field=kinds] .field-error", "Invalid parameter 'kinds'")
	for _, kind := range []string{"circuit.opened", "delivery.failed", "replay.finished"} {
		b.click("the "+kind+" box", fmt.Sprintf(`//input[@name='kinds'][@value='%s']`, kind))
	}
	b.screenshot("notification-form.png")
	b.click("Subscribe", `//button[normalize-space()='Subscribe']`)
	b.waitText("the subscribed notice", "#notices", "Subscribed "+h.opsURL+"/hookd.")
	b.waitText("its page", "h1", h.opsURL+"/hookd")
	b.waitText("its kinds", ".summary", "circuit.opened: a webhook’s circuit opened")
	var id int64
	if _, err := fmt.Sscanf(b.evalString(`location.hash`), "#/notifications/%d", &id); err != nil {
		b.t.Fatalf("not on a subscription's page: %v", err)
	}
	b.waitText("its empty log", "main", "No notification delivered yet")

	// Edit: a new URL path and one kind less.
	b.click("Edit", `//div[@class='head-actions']/a[normalize-space()='Edit']`)
	b.waitText("the edit form", "h1", "Edit subscription")
	b.eval(`document.querySelector('input[name=url]').value = ''`)
	b.typeInto("input[name=url]", h.opsURL+"/ops")
	b.click("the replay.finished box", `//input[@name='kinds'][@value='replay.finished']`)
	b.click("Save changes", `//button[normalize-space()='Save changes']`)
	b.waitText("the saved notice", "#notices", "Changes saved.")
	b.waitText("the new URL", "h1", h.opsURL+"/ops")
	if got := b.evalString(`document.querySelector('.summary').textContent.includes('replay.finished') ? 'still there' : ''`); got != "" {
		b.t.Error("replay.finished is still a kind of the subscription")
	}
	b.click("Reveal", `//button[normalize-space()='Reveal']`)
	b.waitText("its secret", "code.secret", "whsec_")
	b.click("Disable", `//div[@class='head-actions']/button[normalize-space()='Disable']`)
	b.waitText("the confirmation", "dialog", "Disable these notifications?")
	b.click("Disable notifications", `//dialog//button[normalize-space()='Disable notifications']`)
	b.waitText("the disabled badge", ".page-head", "Disabled")
	b.click("Enable", `//div[@class='head-actions']/button[normalize-space()='Enable']`)
	b.waitText("the enabled badge", ".page-head", "Enabled")
	b.checkPage("a subscription")

	// A second subscription, made through the API with markup in its URL:
	// text in the list; deleting it asks first, and a cancel keeps it.
	marked, err := client.New(h.url, h.adminKey).CreateNotification(context.Background(),
		api.NewNotification{URL: "https://ops.example/" + xssName})
	if err != nil {
		b.t.Fatal(err)
	}
	b.click("the Notifications link", `//nav[@id='nav']/a[normalize-space()='Notifications']`)
	b.waitText("the list", "table.notifications", h.opsURL+"/ops")
	b.waitText("the markup as text", "table.notifications", xssName)
	b.waitText("every kind", fmt.Sprintf("tr[data-notification-id='%d']", marked.ID), "Every kind")
	b.screenshot("notifications.png")
	b.checkPage("the notifications")
	if got := b.evalString(`document.querySelector('#main img, #main b') || document.body.dataset.xss ? 'markup ran' : ''`); got != "" {
		b.t.Error("a subscription's URL was written as HTML")
	}
	b.click("the subscription with markup", fmt.Sprintf(`//tr[@data-notification-id='%d']//a`, marked.ID))
	b.waitText("its page", "h1", xssName)
	b.click("Delete", `//div[@class='head-actions']/button[normalize-space()='Delete']`)
	b.waitText("the confirmation", "dialog", "Delete this subscription?")
	b.click("Cancel", `//dialog//button[normalize-space()='Cancel']`)
	b.waitGone("the dialog", "dialog")
	b.click("Delete", `//div[@class='head-actions']/button[normalize-space()='Delete']`)
	b.click("Delete subscription", `//dialog//button[normalize-space()='Delete subscription']`)
	b.waitText("the deleted notice", "#notices", "was deleted")
	b.waitGone("the deleted subscription", fmt.Sprintf("tr[data-notification-id='%d']", marked.ID))
	return id
}

// eraseData erases data through the erase page: a user id hookd refuses
// and an unknown event are shown next to the field; the event published
// to webhook okID, reached from its delivery, is erased once its id is
// typed again, and its payload is {} afterwards.
func (b *browser) eraseData(h *hookdUnderTest, okID int64, eventID string) {
	b.t.Helper()
	b.click("the Erase data link", `//nav[@id='nav']/a[normalize-space()='Erase data']`)
	b.waitText("the erase page", "h1", "Erase data")
	b.typeInto("input[name=target]", "abc")
	b.eval(`document.querySelector('input[name=scope][value=user]').click()`)
	if got := b.evalString(`location.hash`); got != "#/erase?scope=user&id=abc" {
		b.t.Errorf("the erase page's address: %s", got)
	}
	b.click("Erase…", `//button[normalize-space()='Erase…']`)
	b.waitText("the confirmation", "dialog", "Type abc to confirm")
	if got := b.evalString(`document.querySelector('dialog button[value=ok]').disabled ? '' : 'enabled'`); got != "" {
		b.t.Error("the erasure can be confirmed before its id is typed")
	}
	b.typeInto("dialog input", "abc"+kb.Enter)
	b.waitText("the user id error next to the field", ".erase-form .field-error", `Invalid parameter 'user_id' value "abc": Must be a Integer`)
	b.eval(`document.querySelector('input[name=scope][value=event]').click()`)
	b.eval(`document.querySelector('input[name=target]').value = ''`)
	b.typeInto("input[name=target]", "evt_nope")
	b.click("Erase…", `//button[normalize-space()='Erase…']`)
	b.typeInto("dialog input", "evt_nope"+kb.Enter)
	b.waitText("the unknown event next to the field", ".erase-form .field-error", "No event has the id “evt_nope”.")

	// From a delivery of the event: its payload links to the erasure.
	b.navigate(fmt.Sprintf("%s/#/webhooks/%d", b.base, okID))
	b.click("the payload", fmt.Sprintf(`//article[.//code[normalize-space()=%s]]//summary[normalize-space()='Payload and curl command']`, js(eventID)))
	b.waitText("the payload", ".delivery-extra pre.payload", `"asset_id": "a-1001"`)
	b.click("Erase this event’s data", `//a[normalize-space()='Erase this event’s data…']`)
	b.waitText("the erase page", "h1", "Erase data")
	if got := b.evalString(`document.querySelector('input[name=target]').value`); got != eventID {
		b.t.Fatalf("the erase page shows event %q, want %q", got, eventID)
	}
	b.click("Erase…", `//button[normalize-space()='Erase…']`)
	b.typeInto("dialog input", "wrong")
	if got := b.evalString(`document.querySelector('dialog button[value=ok]').disabled ? '' : 'enabled'`); got != "" {
		b.t.Error("the erasure can be confirmed with another id")
	}
	b.screenshot("erase.png")
	b.eval(`document.querySelector('dialog input').value = ''`)
	b.typeInto("dialog input", eventID)
	b.click("Erase data", `//dialog//button[normalize-space()='Erase data']`)
	b.waitText("the erased counts", "#main .notice-success", "Erased the data of event "+eventID+": 1 event, 0 queued deliveries cancelled")
	b.checkPage("the erase page")
	b.navigate(fmt.Sprintf("%s/#/webhooks/%d", b.base, okID))
	b.click("the payload", fmt.Sprintf(`//article[.//code[normalize-space()=%s]]//summary[normalize-space()='Payload and curl command']`, js(eventID)))
	b.waitText("the erased payload", ".delivery-extra pre.payload", "{}")
}

// replay replays webhook okID's events through its page: a range hookd
// refuses, shown next to its field; a replay that waits while the webhook
// is disabled, with its progress, kept and then cancelled through the
// confirmation; and, enabled again, one that re-sends every event of the
// last hour, received or not, and ends. It returns how many deliveries the
// finished replay delivered.
func (b *browser) replay(h *hookdUnderTest, okID int64) int {
	b.t.Helper()
	b.navigate(fmt.Sprintf("%s/#/webhooks/%d", b.base, okID))
	b.waitText("the replays", ".replay-past", "None yet.")
	b.eval(`document.querySelector('#main input[name=until]').value = '2001-01-01T00:00:00'`)
	b.click("Start replay", `//button[normalize-space()='Start replay…']`)
	b.waitText("the confirmation", "dialog", "Start a replay?")
	b.click("Start replay in the dialog", `//dialog//button[normalize-space()='Start replay']`)
	b.waitText("the until error next to the field", ".replay-form .field-error", "Invalid parameter 'until'")
	b.eval(`document.querySelector('#main input[name=until]').value = ''`)

	b.click("Disable", `//div[@class='head-actions']/button[normalize-space()='Disable']`)
	b.click("Disable webhook", `//dialog//button[normalize-space()='Disable webhook']`)
	b.waitText("the disabled badge", ".page-head", "Disabled")
	b.click("Start replay", `//button[normalize-space()='Start replay…']`)
	b.click("Start replay in the dialog", `//dialog//button[normalize-space()='Start replay']`)
	b.waitText("the started notice", "#notices", "started")
	b.waitText("its progress", ".replay-progress", "is running")
	b.waitText("its counts", ".replay-counts", "Events read")
	b.checkPage("a running replay")
	b.screenshotOf("replay.png", "section[aria-labelledby=sec-replay]")
	b.click("Cancel replay", `//button[normalize-space()='Cancel replay…']`)
	b.waitText("the confirmation", "dialog", "its deliveries that no attempt has started are dropped")
	b.click("Keep it running", `//dialog//button[normalize-space()='Keep it running']`)
	b.waitGone("the dialog", "dialog")
	b.waitText("the running replay", ".replay-progress", "is running")
	b.click("Cancel replay", `//button[normalize-space()='Cancel replay…']`)
	b.click("Cancel replay in the dialog", `//dialog//button[normalize-space()='Cancel replay']`)
	b.waitText("the cancelled notice", "#notices", "cancelled.")
	b.waitText("the cancelled replay", ".replays", "Cancelled")

	b.click("Enable", `//div[@class='head-actions']/button[normalize-space()='Enable']`)
	b.waitText("the enabled badge", ".page-head", "Enabled")
	b.click("Include the events it received already", `//label[normalize-space()='Include the events it received already']`)
	b.click("Start replay", `//button[normalize-space()='Start replay…']`)
	b.waitText("the confirmation", "dialog", "received or not")
	b.click("Start replay in the dialog", `//dialog//button[normalize-space()='Start replay']`)
	b.waitText("the finished replay", ".replays", "Done")
	replays, err := client.New(h.url, h.adminKey).Replays(context.Background(), okID)
	if err != nil || len(replays) != 2 {
		b.t.Fatalf("the replays: %+v, %v", replays, err)
	}
	done := replays[0]
	// Its deliveries may still be out: wait for them to end.
	b.waitText("the replay's deliveries", fmt.Sprintf(".replays li[data-replay-id='%d']", done.ID), "failed · 0 waiting")
	replays, err = client.New(h.url, h.adminKey).Replays(context.Background(), okID)
	if err != nil || replays[0].State != "done" || replays[0].Failed != 0 || replays[0].Pending != 0 {
		b.t.Fatalf("the finished replay: %+v, %v", replays, err)
	}
	b.checkPage("the replays")
	return replays[0].Succeeded
}

// hookd in this process: SQLite in a temporary directory, the API with the
// UI mounted, the delivery dispatcher with a 1 s retry and its replay loop,
// operational notifications, and the receivers.
type hookdUnderTest struct {
	store            hookd.Store
	url, adminKey    string
	okURL, failURL   string
	downURL          string
	okHits, failHits atomic.Int32
	downHits         atomic.Int32
	downHit          chan struct{} // a value for each request to downURL
	failing          atomic.Bool
	opsURL           string       // the operators' receiver of notifications
	opsHits          atomic.Int32 // the notifications it got
}

func startHookd(t *testing.T) *hookdUnderTest {
	t.Helper()
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	// Operational notifications, debounced as serve does by default: one
	// an hour per kind and webhook.
	notifier := notify.New(hookd.SystemClock, hookd.DefaultNotifyDebounce, logger)
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hookd.db"), storeopt.WithCircuitObserver(notifier.CircuitChanged))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	key, plain := hookd.NewAPIKey(hookd.DefaultUserID, "e2e", hookd.RoleAdmin)
	if err := st.CreateAPIKey(ctx, key); err != nil {
		t.Fatal(err)
	}
	h := &hookdUnderTest{adminKey: plain, store: st, downHit: make(chan struct{}, 100)}
	h.failing.Store(true)

	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.okHits.Add(1)
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"received":true}`)
	}))
	t.Cleanup(ok.Close)
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.failHits.Add(1)
		io.Copy(io.Discard, r.Body)
		if h.failing.Load() {
			http.Error(w, "upstream database unavailable", http.StatusInternalServerError)
			return
		}
		io.WriteString(w, "recovered")
	}))
	t.Cleanup(flaky.Close)
	dead := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.downHits.Add(1)
		select {
		case h.downHit <- struct{}{}:
		default:
		}
		io.Copy(io.Discard, r.Body)
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
	}))
	t.Cleanup(dead.Close)
	ops := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.opsHits.Add(1)
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, `{"paged":"on-call"}`)
	}))
	t.Cleanup(ops.Close)
	h.okURL, h.failURL, h.downURL, h.opsURL = ok.URL, flaky.URL, dead.URL, ops.URL

	srv := httptest.NewServer(web.Mount(hookdhttp.NewServer(st, logger)))
	t.Cleanup(srv.Close)
	h.url = srv.URL

	sender := delivery.NewSender(delivery.SenderConfig{
		Timeout:      5 * time.Second,
		AllowPrivate: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
	})
	d, err := delivery.New(delivery.Config{Store: st, Sender: sender, Logger: logger, ShutdownGrace: time.Second,
		Policy: delivery.NewPolicy([]time.Duration{time.Second}), Observer: notifier})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	replaysDone := make(chan struct{})
	go func() { done <- d.Run(runCtx) }()
	go func() {
		d.Replays(runCtx, delivery.DefaultReplayInterval)
		close(replaysDone)
	}()
	go notifier.Run(runCtx, st)
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("dispatcher: %v", err)
		}
		<-replaysDone
	})
	return h
}

// addBulk creates bulkWebhooks webhooks through the store, for speed, the
// first with markup for a name (xssName), the last with a 255-character
// name and a long URL, and returns the last's id. They subscribe to an
// event the test never publishes.
func (h *hookdUnderTest) addBulk(t *testing.T) int64 {
	t.Helper()
	var last int64
	for i := range bulkWebhooks {
		w := &hookd.Webhook{Name: fmt.Sprintf("Bulk %04d", i), HTTPURL: fmt.Sprintf("https://bulk.example/hooks/%d", i),
			HTTPMethod: "POST", TriggerEvents: []string{"USER_ADDED"}}
		switch i {
		case 0:
			w.Name = xssName
		case bulkWebhooks - 1:
			w.Name, w.HTTPURL = longName, "https://bulk.example/"+strings.Repeat("path/", 60)
		}
		if err := h.store.CreateWebhook(context.Background(), w, ""); err != nil {
			t.Fatal(err)
		}
		last = w.ID
	}
	return last
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// browser drives one tab; every step fails the test with what the page
// shows when its expected text does not appear.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string

	width, height int64 // the viewport

	mu       sync.Mutex
	problems []string // uncaught exceptions and console errors
}

func startBrowser(t *testing.T, exe, base string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(viewportWidth, viewportHeight),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
	})
	b := &browser{t: t, ctx: ctx, base: base, width: viewportWidth, height: viewportHeight}
	if err := chromedp.Listen(ctx, func(ev any) {
		b.mu.Lock()
		defer b.mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			msg := ev.ExceptionDetails.Text
			if ev.ExceptionDetails.Exception != nil {
				msg += " " + ev.ExceptionDetails.Exception.Description
			}
			b.problems = append(b.problems, "exception: "+msg)
		case *log.EventEntryAdded:
			// The refused key (401), the invalid values (422), the
			// erasure of an unknown event and the project that left the
			// registry (404) are expected.
			expected := strings.Contains(ev.Entry.Text, "status of 401") || strings.Contains(ev.Entry.Text, "status of 422") ||
				(strings.Contains(ev.Entry.Text, "status of 404") &&
					(strings.HasSuffix(ev.Entry.URL, "/erase") || strings.Contains(ev.Entry.URL, "/api/v2/projects/")))
			if ev.Entry.Level == log.EntryLevelError && !expected {
				b.problems = append(b.problems, fmt.Sprintf("console %s: %s", ev.Entry.Source, ev.Entry.Text))
			}
		}
	}); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	b.setViewport(viewportWidth, viewportHeight)
	return b
}

// setViewport lays the page out on a screen of width × height.
func (b *browser) setViewport(width, height int64) {
	b.t.Helper()
	b.width, b.height = width, height
	b.do("set the viewport", chromedp.EmulateViewport(width, height))
}

// checkPage fails the test when the page scrolls sideways or an element
// reaches past its width (unless a box that scrolls or clips holds it),
// naming the first offenders, when its text shows a value that leaked from
// the code ("null", "undefined", "NaN", "[object Object]") outside a
// payload, and with the browser's errors so far.
func (b *browser) checkPage(what string) {
	b.t.Helper()
	if got := b.evalString(`(() => {
		const walk = document.createTreeWalker(document.getElementById('main'), NodeFilter.SHOW_TEXT);
		for (let n = walk.nextNode(); n; n = walk.nextNode()) {
			if (n.parentElement.closest('pre, code')) continue;
			if (/\b(null|undefined|NaN)\b|\[object Object\]/.test(n.data)) return n.parentElement.textContent.slice(0, 80);
		}
		return '';
	})()`); got != "" {
		b.t.Errorf("%s shows a value leaked from the code: %q", what, got)
	}
	got := b.evalString(`(() => {
		const W = document.documentElement.clientWidth;
		const bad = [];
		if (document.documentElement.scrollWidth > W) bad.push('the page is ' + document.documentElement.scrollWidth + ' px wide');
		const held = (el) => {
			for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
				if (getComputedStyle(p).overflowX !== 'visible') {
					const r = p.getBoundingClientRect();
					return r.left >= -1 && r.right <= W + 1;
				}
			}
			return false;
		};
		for (const el of document.querySelectorAll('body *')) {
			const r = el.getBoundingClientRect();
			if (r.width === 0 || r.height === 0 || getComputedStyle(el).position === 'fixed') continue;
			if ((r.right > W + 1 || r.left < -1) && !held(el)) {
				bad.push('<' + el.tagName.toLowerCase() + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().replace(/\s+/g, '.') : '') +
					'> from ' + Math.round(r.left) + ' to ' + Math.round(r.right) + ' px: ' + (el.textContent || '').trim().slice(0, 60));
			}
		}
		// A table cell's content stays in its cell (but for a header row
		// hidden from sight for screen readers).
		for (const cell of document.querySelectorAll('td, th')) {
			if (cell.closest('thead, tbody').getBoundingClientRect().width <= 1) continue;
			if (cell.scrollWidth > cell.clientWidth + 1) {
				bad.push('a cell\'s content is ' + cell.scrollWidth + ' px wide in ' + cell.clientWidth + ' px: ' + cell.textContent.trim().slice(0, 60));
			}
		}
		return bad.slice(0, 8).join('\n');
	})()`)
	if got != "" {
		b.t.Errorf("%s overflows a %d px wide screen:\n%s", what, b.width, got)
	}
	b.noErrors()
}

// waitTrue waits until the JavaScript expression expr is true.
func (b *browser) waitTrue(what, expr string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout+5*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr,
		chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(stepTimeout))); err != nil {
		b.t.Fatalf("%s: %s is not true after %s (%v)\npage shows:\n%s", what, expr, stepTimeout, err, b.pageText())
	}
}

// waitFigure waits until the overview's figure labelled label shows value.
func (b *browser) waitFigure(label, value string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout+5*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](fmt.Sprintf(
		`[...document.querySelectorAll('.figure')].some((f) => f.querySelector('dt').textContent === %s && f.querySelector('dd').textContent === %s)`, js(label), js(value)),
		chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(stepTimeout)))
	if err != nil {
		b.t.Fatalf("the figure %q is not %s (%v)\npage shows:\n%s", label, value, err, b.pageText())
	}
}

func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v\npage shows:\n%s", what, err, b.pageText())
	}
}

func (b *browser) navigate(url string) {
	b.t.Helper()
	b.do("open "+url, chromedp.Navigate(url))
}

// click clicks the element an XPath query finds.
func (b *browser) click(what, xpath string) {
	b.t.Helper()
	b.do("click "+what, chromedp.Click(xpath, chromedp.NodeVisible))
}

func (b *browser) typeInto(css, text string) {
	b.t.Helper()
	b.do("type into "+css, chromedp.SendKeys(chromedp.CSS(css), text, chromedp.NodeVisible))
}

// typeLast types into the n-th input of the last element matching css.
func (b *browser) typeLast(css string, n int, text string) {
	b.t.Helper()
	b.do("type into "+css, chromedp.SendKeys(chromedp.JSPath(fmt.Sprintf(
		`(() => { const all = document.querySelectorAll(%s); return all[all.length-1].querySelectorAll('input')[%d]; })()`, js(css), n)),
		text, chromedp.NodeVisible))
}

// selectOption picks a value in a <select> as a user would, firing change.
func (b *browser) selectOption(css, value string) {
	b.t.Helper()
	b.eval(fmt.Sprintf(`(() => { const s = document.querySelector(%s); s.value = %s; s.dispatchEvent(new Event('change')); })()`, js(css), js(value)))
}

// waitGone waits until no element matches css.
func (b *browser) waitGone(what, css string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout+5*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](fmt.Sprintf(`document.querySelector(%s) === null`, js(css)),
		chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(stepTimeout))); err != nil {
		b.t.Fatalf("%s: %s still there after %s\npage shows:\n%s", what, css, stepTimeout, b.pageText())
	}
}

func (b *browser) eval(expr string) {
	b.t.Helper()
	b.do("evaluate "+expr, chromedp.Evaluate[chromedp.Void](expr))
}

func (b *browser) evalString(expr string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return s
}

// waitText waits until an element matching css contains text (in an
// option, the isolate marks around its parts aside).
func (b *browser) waitText(what, css, text string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout+5*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](fmt.Sprintf(
		`[...document.querySelectorAll(%s)].some((el) => (el.localName === 'option' ? el.textContent.replace(/[\u2068\u2069]/g, '') : el.textContent).includes(%s))`, js(css), js(text)),
		chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(stepTimeout)))
	if err != nil {
		b.t.Fatalf("%s: no %q in %s after %s (%v)\npage shows:\n%s", what, text, css, stepTimeout, err, b.pageText())
	}
}

func (b *browser) webhookID() int64 {
	b.t.Helper()
	var id int64
	hash := b.evalString(`location.hash`)
	if _, err := fmt.Sscanf(hash, "#/webhooks/%d", &id); err != nil {
		b.t.Fatalf("not on a webhook's page: %q", hash)
	}
	return id
}

func (b *browser) pageText() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + '\n' + document.body.innerText`))
	if err != nil {
		return "(could not read the page: " + err.Error() + ")"
	}
	return s
}

// screenshot saves the whole page as docs/screenshots/name (PNG) when
// HOOKD_UPDATE_SCREENSHOTS=1; otherwise it only checks that one can be
// taken. The viewport grows to the page's height, so that the page lays out
// as on a tall screen.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	b.screenshotTop(name, 0)
}

// screenshotTop is screenshot of the top height pixels (0: the whole page).
func (b *browser) screenshotTop(name string, height int) {
	b.t.Helper()
	// No focus ring or hover in the pictures.
	b.eval(`document.activeElement && document.activeElement.blur && document.activeElement.blur()`)
	if height == 0 {
		if err := func() error {
			h, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`Math.ceil(document.documentElement.scrollHeight)`))
			height = h
			return err
		}(); err != nil {
			b.t.Fatalf("screenshot %s: %v", name, err)
		}
	}
	b.do("resize for "+name, chromedp.EmulateViewport(b.width, int64(height)), chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	b.do("restore the viewport", chromedp.EmulateViewport(b.width, b.height))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	b.save(name, png)
}

// screenshotOf saves the part of the page that the elements matching css
// cover, laid out on a screen as tall as the page.
func (b *browser) screenshotOf(name, css string) {
	b.t.Helper()
	b.eval(`document.activeElement && document.activeElement.blur && document.activeElement.blur()`)
	height, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`Math.ceil(document.documentElement.scrollHeight)`))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	b.do("resize for "+name, chromedp.EmulateViewport(b.width, int64(height)))
	png, err := chromedp.Run(b.ctx, chromedp.Screenshot(chromedp.CSSAll(css)))
	b.do("restore the viewport", chromedp.EmulateViewport(b.width, b.height))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	b.save(name, png)
}

func (b *browser) save(name string, png []byte) {
	b.t.Helper()
	if os.Getenv("HOOKD_UPDATE_SCREENSHOTS") != "1" {
		return
	}
	path := filepath.Join("..", "docs", "screenshots", name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("wrote %s", path)
}

// noErrors fails the test with the browser's errors since the last call.
func (b *browser) noErrors() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.problems {
		b.t.Errorf("browser: %s", p)
	}
	b.problems = nil
}

func js(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
