package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

func testWebhooks(t *testing.T, open opener) {
	t.Run("CreateAndGet", func(t *testing.T) {
		s := open(t)
		createProject(t, s, "proj1")

		// Contract: headers and users given with a new webhook are stored
		// with it, and get their ids.
		w := newWebhook("full", assetAdded, assetRemoved)
		w.ProjectID = ptr("proj1")
		w.Headers = []hookd.Header{
			{Key: "X-Plain", Value: "1"},
			{Key: "X-Signature", Value: "hmac-key", IsHMAC: true},
		}
		w.Users = []hookd.WebhookUser{{UserID: 5}}
		before := s.clock.Now()
		must(t, s.CreateWebhook(ctx(t), w, "whsec_test"), "CreateWebhook")
		after := s.clock.Now()
		if w.ID == 0 {
			t.Fatal("CreateWebhook left ID zero")
		}
		within(t, "CreatedAt", w.CreatedAt, before, after)
		sameTime(t, "UpdatedAt", w.UpdatedAt, w.CreatedAt)
		for i, h := range w.Headers {
			if h.ID == 0 || h.WebhookID != w.ID {
				t.Errorf("header %d: ID %d, WebhookID %d after create", i, h.ID, h.WebhookID)
			}
			within(t, "header CreatedAt", h.CreatedAt, before, after)
		}
		if w.Users[0].ID == 0 || w.Users[0].WebhookID != w.ID {
			t.Errorf("user: ID %d, WebhookID %d after create", w.Users[0].ID, w.Users[0].WebhookID)
		}

		got := getWebhook(t, s, w.ID)
		checkWebhook(t, got, w)
		equal(t, "QueueLength", got.QueueLength, 0)
		equal(t, "RetryQueueLength", got.RetryQueueLength, 0)
		if got.LatestRun != nil {
			t.Errorf("LatestRun = %+v for a new webhook, want nil", got.LatestRun)
		}

		plain := createWebhook(t, s, newWebhook("plain", userAdded))
		got = getWebhook(t, s, plain.ID)
		checkWebhook(t, got, plain)
		if got.ProjectID != nil {
			t.Errorf("ProjectID = %q, want nil", *got.ProjectID)
		}

		disabled := newWebhook("off", userAdded)
		disabled.Disabled = true
		createWebhook(t, s, disabled)
		equal(t, "created disabled", getWebhook(t, s, disabled.ID).Disabled, true)

		_, err := s.Webhook(ctx(t), missingID)
		mustErr(t, err, hookd.ErrNotFound, "Webhook(unknown)")
	})

	t.Run("ProjectNotFound", func(t *testing.T) {
		s := open(t)
		w := newWebhook("scoped", assetAdded)
		w.ProjectID = ptr("unregistered")
		mustErr(t, s.CreateWebhook(ctx(t), w, ""), hookd.ErrProjectNotFound, "CreateWebhook with an unknown project")
		all, err := s.ListWebhooks(ctx(t), hookd.WebhookFilter{})
		must(t, err, "ListWebhooks")
		equal(t, "webhooks after a refused create", len(all), 0)

		ok := createWebhook(t, s, newWebhook("ok", assetAdded))
		_, err = s.UpdateWebhook(ctx(t), ok.ID, hookd.WebhookUpdate{ProjectID: ptr("unregistered"), Name: ptr("renamed")})
		mustErr(t, err, hookd.ErrProjectNotFound, "UpdateWebhook with an unknown project")
		checkWebhook(t, getWebhook(t, s, ok.ID), ok) // unchanged, name included

		// A project that left the registry stays the webhook's: an update
		// that sends it back unchanged is taken, one that moves the webhook
		// to another unregistered project is not.
		createProject(t, s, "leaving")
		w = newWebhook("left", assetAdded)
		w.ProjectID = ptr("leaving")
		createWebhook(t, s, w)
		must(t, s.DeleteProject(ctx(t), "leaving"), "DeleteProject")
		got, err := s.UpdateWebhook(ctx(t), w.ID, hookd.WebhookUpdate{ProjectID: ptr("leaving"), Name: ptr("still scoped")})
		must(t, err, "UpdateWebhook keeping a project that left the registry")
		equal(t, "name", got.Name, "still scoped")
		equalPtr(t, "project", got.ProjectID, ptr("leaving"))
		_, err = s.UpdateWebhook(ctx(t), w.ID, hookd.WebhookUpdate{ProjectID: ptr("elsewhere")})
		mustErr(t, err, hookd.ErrProjectNotFound, "UpdateWebhook to another unregistered project")
	})

	t.Run("List", func(t *testing.T) {
		s := open(t)
		list, err := s.ListWebhooks(ctx(t), hookd.WebhookFilter{})
		must(t, err, "ListWebhooks on an empty store")
		if list == nil || len(list) != 0 {
			t.Errorf("ListWebhooks on an empty store = %#v, want an empty list", list)
		}

		createProject(t, s, "A")
		createProject(t, s, "B")
		w1 := newWebhook("w1", assetAdded)
		w1.ProjectID = ptr("A")
		w1.Headers = []hookd.Header{{Key: "X-One", Value: "1"}}
		w1.Users = []hookd.WebhookUser{{UserID: 3}}
		createWebhook(t, s, w1)
		w2 := newWebhook("w2", assetAdded)
		w2.ProjectID = ptr("B")
		createWebhook(t, s, w2)
		w3 := createWebhook(t, s, newWebhook("w3", assetAdded))
		w4 := newWebhook("w4", assetAdded)
		w4.ProjectID = ptr("A")
		w4.Disabled = true
		createWebhook(t, s, w4)

		cases := []struct {
			name string
			f    hookd.WebhookFilter
			want []*hookd.Webhook
		}{
			{"all", hookd.WebhookFilter{}, []*hookd.Webhook{w1, w2, w3, w4}},
			{"project A", hookd.WebhookFilter{ProjectID: ptr("A")}, []*hookd.Webhook{w1, w4}},
			{"unknown project", hookd.WebhookFilter{ProjectID: ptr("C")}, []*hookd.Webhook{}},
			{"disabled", hookd.WebhookFilter{Disabled: ptr(true)}, []*hookd.Webhook{w4}},
			{"enabled", hookd.WebhookFilter{Disabled: ptr(false)}, []*hookd.Webhook{w1, w2, w3}},
			{"enabled of A", hookd.WebhookFilter{ProjectID: ptr("A"), Disabled: ptr(false)}, []*hookd.Webhook{w1}},
		}
		for _, c := range cases {
			list, err := s.ListWebhooks(ctx(t), c.f)
			must(t, err, "ListWebhooks "+c.name)
			// Contract: listed by id.
			deepEqual(t, "ListWebhooks "+c.name, webhookIDs(list), webhookIDs(c.want))
			if len(list) == len(c.want) {
				for i := range list {
					checkWebhook(t, list[i], c.want[i])
				}
			}
		}
	})

	t.Run("Update", func(t *testing.T) {
		s := open(t)
		createProject(t, s, "P")
		createProject(t, s, "Q")
		created := s.clock.Now().Add(-time.Hour)
		w := newWebhook("orig", assetAdded, assetRemoved)
		w.ProjectID = ptr("P")
		w.CreatedAt, w.UpdatedAt = created, created
		w.Headers = []hookd.Header{{Key: "X-Keep", Value: "kept"}}
		w.Users = []hookd.WebhookUser{{UserID: 9}}
		createWebhook(t, s, w)
		checkWebhook(t, getWebhook(t, s, w.ID), w) // the given times are kept

		want := *w
		step := func(what string, u hookd.WebhookUpdate) {
			t.Helper()
			before := s.clock.Now()
			got, err := s.UpdateWebhook(ctx(t), w.ID, u)
			must(t, err, "UpdateWebhook "+what)
			after := s.clock.Now()
			within(t, what+": UpdatedAt", got.UpdatedAt, before, after)
			want.UpdatedAt = got.UpdatedAt
			checkWebhook(t, got, &want)
			checkWebhook(t, getWebhook(t, s, w.ID), &want)
		}

		want.Name = "renamed"
		step("name", hookd.WebhookUpdate{Name: ptr("renamed")})

		// TriggerEvents replaces the list rather than adding to it.
		want.TriggerEvents = []string{userAdded}
		step("trigger events", hookd.WebhookUpdate{TriggerEvents: []string{userAdded}})

		want.HTTPURL, want.HTTPMethod, want.Disabled = "https://other.example/hook", "PUT", true
		step("url, method, disabled", hookd.WebhookUpdate{
			HTTPURL: ptr("https://other.example/hook"), HTTPMethod: ptr("PUT"), Disabled: ptr(true),
		})

		want.ProjectID = ptr("Q")
		step("project", hookd.WebhookUpdate{ProjectID: ptr("Q")})

		want.ProjectID = nil
		step("clear project", hookd.WebhookUpdate{ClearProject: true})

		want.Disabled = false
		want.TriggerEvents = []string{}
		step("enable, no events", hookd.WebhookUpdate{Disabled: ptr(false), TriggerEvents: []string{}})

		// An empty update changes nothing an admin set.
		got, err := s.UpdateWebhook(ctx(t), w.ID, hookd.WebhookUpdate{})
		must(t, err, "UpdateWebhook with nothing")
		want.UpdatedAt = got.UpdatedAt
		checkWebhook(t, got, &want)
		sameTime(t, "CreatedAt after updates", got.CreatedAt, created)

		_, err = s.UpdateWebhook(ctx(t), missingID, hookd.WebhookUpdate{Name: ptr("x")})
		mustErr(t, err, hookd.ErrNotFound, "UpdateWebhook(unknown)")
	})

	t.Run("Delete", func(t *testing.T) {
		s := open(t)
		w := newWebhook("doomed", assetAdded)
		w.Headers = []hookd.Header{{Key: "X-A", Value: "a"}}
		w.Users = []hookd.WebhookUser{{UserID: 4}}
		createWebhook(t, s, w)
		other := createWebhook(t, s, newWebhook("survivor", assetAdded))
		publish(t, s, newEvent(assetAdded, nil, ptr(int64(4))))
		figures(t, s, w.ID, 1, 0)

		must(t, s.DeleteWebhook(ctx(t), w.ID), "DeleteWebhook")
		_, err := s.Webhook(ctx(t), w.ID)
		mustErr(t, err, hookd.ErrNotFound, "Webhook after delete")
		mustErr(t, s.DeleteHeader(ctx(t), w.ID, w.Headers[0].ID), hookd.ErrNotFound, "DeleteHeader of a deleted webhook")
		mustErr(t, s.DeleteUser(ctx(t), w.ID, w.Users[0].ID), hookd.ErrNotFound, "DeleteUser of a deleted webhook")
		mustErr(t, s.DeleteWebhook(ctx(t), w.ID), hookd.ErrNotFound, "DeleteWebhook twice")

		// Its queued delivery went with it; the other webhook's did not.
		ds := claimAll(t, s, s.clock.Now())
		if len(ds) != 1 || ds[0].WebhookID != other.ID {
			t.Fatalf("after delete, claimed %+v, want only webhook %d's delivery", ds, other.ID)
		}
	})

	t.Run("Timestamps", func(t *testing.T) {
		s := open(t)
		given := time.Date(2023, 11, 27, 11, 42, 39, 937_654_321, time.FixedZone("EET", 2*3600))
		w := newWebhook("given", assetAdded)
		w.CreatedAt, w.UpdatedAt = given, given
		createWebhook(t, s, w)
		sameTime(t, "returned CreatedAt", w.CreatedAt, given)
		got := getWebhook(t, s, w.ID)
		sameTime(t, "stored CreatedAt", got.CreatedAt, given)
		sameTime(t, "stored UpdatedAt", got.UpdatedAt, given)
		if !got.CreatedAt.Equal(time.Date(2023, 11, 27, 9, 42, 39, 937_000_000, time.UTC)) {
			t.Errorf("CreatedAt = %v, want 2023-11-27T09:42:39.937Z", got.CreatedAt)
		}
	})
}

func testHeaders(t *testing.T, open opener) {
	s := open(t)
	w := createWebhook(t, s, newWebhook("w", assetAdded))
	other := createWebhook(t, s, newWebhook("other", assetAdded))

	h := &hookd.Header{WebhookID: w.ID, Key: "X-Api-Key", Value: "v1"}
	before := s.clock.Now()
	must(t, s.AddHeader(ctx(t), h), "AddHeader")
	after := s.clock.Now()
	if h.ID == 0 {
		t.Fatal("AddHeader left ID zero")
	}
	within(t, "CreatedAt", h.CreatedAt, before, after)
	sameTime(t, "UpdatedAt", h.UpdatedAt, h.CreatedAt)
	h2 := &hookd.Header{WebhookID: w.ID, Key: "X-Sig", Value: "k", IsHMAC: true}
	must(t, s.AddHeader(ctx(t), h2), "AddHeader 2")
	checkHeaders(t, "after add", getWebhook(t, s, w.ID).Headers, []hookd.Header{*h, *h2})
	checkHeaders(t, "other webhook", getWebhook(t, s, other.ID).Headers, nil)

	mustErr(t, s.AddHeader(ctx(t), &hookd.Header{WebhookID: missingID, Key: "X", Value: "y"}), hookd.ErrNotFound,
		"AddHeader to an unknown webhook")

	// A header is addressed through its webhook.
	_, err := s.UpdateHeader(ctx(t), other.ID, h.ID, hookd.HeaderUpdate{Value: ptr("stolen")})
	mustErr(t, err, hookd.ErrNotFound, "UpdateHeader through another webhook")
	_, err = s.UpdateHeader(ctx(t), w.ID, missingID, hookd.HeaderUpdate{Value: ptr("x")})
	mustErr(t, err, hookd.ErrNotFound, "UpdateHeader(unknown)")

	before = s.clock.Now()
	got, err := s.UpdateHeader(ctx(t), w.ID, h.ID, hookd.HeaderUpdate{Value: ptr("v2"), Hidden: ptr(true)})
	must(t, err, "UpdateHeader")
	after = s.clock.Now()
	want := *h
	want.Value, want.Hidden, want.UpdatedAt = "v2", true, got.UpdatedAt
	within(t, "UpdatedAt after update", got.UpdatedAt, before, after)
	checkHeaders(t, "UpdateHeader result", []hookd.Header{*got}, []hookd.Header{want})

	// The store checks an update against the header as it stands
	// (hookd.HeaderUpdate.Apply): changing is_hmac needs a new value.
	_, err = s.UpdateHeader(ctx(t), w.ID, h2.ID, hookd.HeaderUpdate{Key: ptr("X-Signature"), IsHMAC: ptr(!h2.IsHMAC)})
	mustErr(t, err, hookd.ErrHeaderKindChange, "UpdateHeader of is_hmac without a value")
	got, err = s.UpdateHeader(ctx(t), w.ID, h2.ID, hookd.HeaderUpdate{Key: ptr("X-Signature"), Value: ptr("v3"), IsHMAC: ptr(!h2.IsHMAC)})
	must(t, err, "UpdateHeader 2")
	want2 := *h2
	want2.Key, want2.Value, want2.IsHMAC, want2.UpdatedAt = "X-Signature", "v3", !h2.IsHMAC, got.UpdatedAt
	checkHeaders(t, "after updates", getWebhook(t, s, w.ID).Headers, []hookd.Header{want, want2})

	mustErr(t, s.DeleteHeader(ctx(t), other.ID, h.ID), hookd.ErrNotFound, "DeleteHeader through another webhook")
	must(t, s.DeleteHeader(ctx(t), w.ID, h.ID), "DeleteHeader")
	checkHeaders(t, "after delete", getWebhook(t, s, w.ID).Headers, []hookd.Header{want2})
	mustErr(t, s.DeleteHeader(ctx(t), w.ID, h.ID), hookd.ErrNotFound, "DeleteHeader twice")
}

func testUsers(t *testing.T, open opener) {
	s := open(t)
	w := createWebhook(t, s, newWebhook("w", assetAdded))
	other := createWebhook(t, s, newWebhook("other", assetAdded))

	u := &hookd.WebhookUser{WebhookID: w.ID, UserID: 42}
	before := s.clock.Now()
	must(t, s.AddUser(ctx(t), u), "AddUser")
	after := s.clock.Now()
	if u.ID == 0 {
		t.Fatal("AddUser left ID zero")
	}
	within(t, "CreatedAt", u.CreatedAt, before, after)
	u2 := &hookd.WebhookUser{WebhookID: w.ID, UserID: 43}
	must(t, s.AddUser(ctx(t), u2), "AddUser 2")
	// The same user may restrict another webhook.
	must(t, s.AddUser(ctx(t), &hookd.WebhookUser{WebhookID: other.ID, UserID: 42}), "AddUser to another webhook")

	checkUsers(t, "after add", getWebhook(t, s, w.ID).Users, []hookd.WebhookUser{*u, *u2})

	// Contract: a user already on the webhook is a conflict, not a second row.
	mustErr(t, s.AddUser(ctx(t), &hookd.WebhookUser{WebhookID: w.ID, UserID: 42}), hookd.ErrConflict, "AddUser twice")
	mustErr(t, s.AddUser(ctx(t), &hookd.WebhookUser{WebhookID: missingID, UserID: 1}), hookd.ErrNotFound,
		"AddUser to an unknown webhook")

	// DeleteUser takes the webhook_users id, through its webhook.
	mustErr(t, s.DeleteUser(ctx(t), other.ID, u.ID), hookd.ErrNotFound, "DeleteUser through another webhook")
	must(t, s.DeleteUser(ctx(t), w.ID, u.ID), "DeleteUser")
	checkUsers(t, "after delete", getWebhook(t, s, w.ID).Users, []hookd.WebhookUser{*u2})
	mustErr(t, s.DeleteUser(ctx(t), w.ID, u.ID), hookd.ErrNotFound, "DeleteUser twice")
	equal(t, "other webhook's users", len(getWebhook(t, s, other.ID).Users), 1)
}

func testSecrets(t *testing.T, open opener) {
	s := open(t)
	w := newWebhook("w", assetAdded)
	must(t, s.CreateWebhook(ctx(t), w, "whsec_old"), "CreateWebhook")
	now := s.clock.Now()

	secrets := func(when time.Time, want ...string) {
		t.Helper()
		got, err := s.secretsAt(when, w.ID)
		must(t, err, "Secrets")
		deepEqual(t, "Secrets at "+when.Format(time.RFC3339Nano), got, want)
	}
	secrets(now, "whsec_old")

	until := now.Add(hookd.SigningSecretGrace)
	must(t, s.RotateSecret(ctx(t), w.ID, "whsec_new", until), "RotateSecret")
	secrets(now, "whsec_new", "whsec_old")
	secrets(until.Add(-time.Millisecond), "whsec_new", "whsec_old")
	// The rotated secret is valid up to, not including, previousValidUntil.
	secrets(until, "whsec_new")
	secrets(until.Add(time.Hour), "whsec_new")

	// A second rotation keeps only the latest two.
	until2 := now.Add(time.Hour)
	must(t, s.RotateSecret(ctx(t), w.ID, "whsec_newer", until2), "RotateSecret again")
	secrets(now, "whsec_newer", "whsec_new")
	secrets(until2, "whsec_newer")

	_, err := s.secretsAt(now, missingID)
	mustErr(t, err, hookd.ErrNotFound, "Secrets(unknown)")
	mustErr(t, s.RotateSecret(ctx(t), missingID, "whsec_x", until), hookd.ErrNotFound, "RotateSecret(unknown)")

	// Contract: an empty signing secret on create gets a new one.
	gen := createWebhook(t, s, newWebhook("generated", assetAdded))
	got, err := s.secretsAt(now, gen.ID)
	must(t, err, "Secrets of a generated secret")
	if len(got) != 1 || !strings.HasPrefix(got[0], "whsec_") || len(got[0]) < 20 {
		t.Errorf("generated secrets = %q, want one whsec_ secret", got)
	}
	other := createWebhook(t, s, newWebhook("generated2", assetAdded))
	got2, err := s.secretsAt(now, other.ID)
	must(t, err, "Secrets of another generated secret")
	if len(got) == 1 && len(got2) == 1 && got[0] == got2[0] {
		t.Error("two webhooks got the same generated secret")
	}
}
