package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

func testPublishEvents(t *testing.T, open opener) {
	t.Run("Matching", func(t *testing.T) {
		s := open(t)
		createProject(t, s, "projP")
		createProject(t, s, "projQ")
		P, Q := ptr("projP"), ptr("projQ")
		u7, u8 := ptr(int64(7)), ptr(int64(8))

		all := createWebhook(t, s, newWebhook("all", assetAdded))
		ofP := newWebhook("ofP", assetAdded)
		ofP.ProjectID = P
		createWebhook(t, s, ofP)
		of7 := newWebhook("of7", assetAdded)
		of7.Users = []hookd.WebhookUser{{UserID: 7}}
		createWebhook(t, s, of7)
		removed := createWebhook(t, s, newWebhook("removed", assetRemoved))
		off := newWebhook("off", assetAdded)
		off.Disabled = true
		createWebhook(t, s, off)
		ofP78 := newWebhook("ofP78", assetAdded, assetRemoved)
		ofP78.ProjectID = P
		ofP78.Users = []hookd.WebhookUser{{UserID: 7}, {UserID: 8}}
		createWebhook(t, s, ofP78)

		cases := []struct {
			e    *hookd.Event
			want []*hookd.Webhook
		}{
			{newEvent(assetAdded, P, u7), []*hookd.Webhook{all, ofP, of7, ofP78}},
			{newEvent(assetAdded, Q, u8), []*hookd.Webhook{all}},
			{newEvent(assetAdded, nil, nil), []*hookd.Webhook{all}},
			{newEvent(assetRemoved, P, u8), []*hookd.Webhook{removed, ofP78}},
			{newEvent(assetRemoved, nil, u8), []*hookd.Webhook{removed}},
			{newEvent(userAdded, P, u7), nil},
		}
		hooks, err := s.ListWebhooks(ctx(t), hookd.WebhookFilter{})
		must(t, err, "ListWebhooks")
		var events []*hookd.Event
		for i, c := range cases {
			// The suite's expectations are Webhook.Matches's.
			var matches []int64
			for _, w := range hooks {
				if w.Matches(c.e) {
					matches = append(matches, w.ID)
				}
			}
			deepEqual(t, fmt.Sprintf("case %d: Matches", i), sorted(matches), sorted(webhookIDs(c.want)))
			events = append(events, c.e)
		}
		want := make([]hookd.Event, len(events))
		for i, e := range events {
			want[i] = *e
		}

		before := s.clock.Now()
		res := publish(t, s, events...)
		after := s.clock.Now()
		seen := map[string]bool{}
		for i, r := range res {
			p := fmt.Sprintf("event %d", i)
			equal(t, p+" Duplicate", r.Duplicate, false)
			equal(t, p+" Deliveries", r.Deliveries, len(cases[i].want))
			if r.Event.ID == "" || seen[r.Event.ID] {
				t.Errorf("%s: id %q, want a new unique id", p, r.Event.ID)
			}
			seen[r.Event.ID] = true
			within(t, p+" CreatedAt", r.Event.CreatedAt, before, after)
			want[i].ID, want[i].CreatedAt = r.Event.ID, r.Event.CreatedAt
			checkEvent(t, p, r.Event, want[i])
		}

		// Live figures count the new deliveries, in a listing too.
		list, err := s.ListWebhooks(ctx(t), hookd.WebhookFilter{})
		must(t, err, "ListWebhooks")
		queues := map[int64]int{}
		for _, w := range list {
			queues[w.ID] = w.QueueLength
			equal(t, w.Name+" retry_queue_length", w.RetryQueueLength, 0)
		}
		deepEqual(t, "queue lengths", queues, map[int64]int{
			all.ID: 3, ofP.ID: 1, of7.ID: 1, removed.ID: 2, off.ID: 0, ofP78.ID: 2,
		})

		ds := claimAll(t, s, s.clock.Now())
		got := map[string][]int64{}
		for _, d := range ds {
			got[d.Event.ID] = append(got[d.Event.ID], d.WebhookID)
		}
		for i, c := range cases {
			deepEqual(t, fmt.Sprintf("event %d delivered to", i), sorted(got[res[i].Event.ID]), sorted(webhookIDs(c.want)))
		}
		// In flight still counts towards queue_length.
		figures(t, s, all.ID, 3, 0)
	})

	t.Run("Matching follows every change", func(t *testing.T) {
		s := open(t)
		SubscriptionsAcrossStores(t, s, s)
	})

	t.Run("Duplicates", func(t *testing.T) {
		s := open(t)
		first := createWebhook(t, s, newWebhook("first", assetAdded))

		// An event may come with its creation time.
		created := s.clock.Now().Add(-time.Minute)
		e := &hookd.Event{ID: "client-1", Event: assetAdded, Data: json.RawMessage(`{"a": 1}`), CreatedAt: created}
		res := publish(t, s, e)
		equal(t, "Duplicate", res[0].Duplicate, false)
		equal(t, "Deliveries", res[0].Deliveries, 1)
		equal(t, "ID", res[0].Event.ID, "client-1")
		sameTime(t, "CreatedAt", res[0].Event.CreatedAt, created)

		// A second webhook would now match: a repeat must not create its
		// delivery, and answers with the original event and count.
		createWebhook(t, s, newWebhook("second", assetAdded, assetRemoved))
		again := publish(t, s, &hookd.Event{ID: "client-1", Event: assetRemoved, Data: json.RawMessage(`{"b": 2}`)})
		equal(t, "repeat Duplicate", again[0].Duplicate, true)
		equal(t, "repeat Deliveries", again[0].Deliveries, 1)
		checkEvent(t, "repeat", again[0].Event, hookd.Event{
			ID: "client-1", Event: assetAdded, Data: json.RawMessage(`{"a": 1}`), CreatedAt: created,
		})
		ds := claimAll(t, s, s.clock.Now())
		if len(ds) != 1 || ds[0].WebhookID != first.ID || ds[0].Event.ID != "client-1" {
			t.Fatalf("after a repeat, claimed %d deliveries, want only the original one", len(ds))
		}

		// A repeat inside one batch is a repeat too.
		batch := publish(t, s,
			&hookd.Event{ID: "client-2", Event: assetAdded, Data: json.RawMessage(`{}`)},
			&hookd.Event{ID: "client-2", Event: assetRemoved, Data: json.RawMessage(`{}`)},
		)
		equal(t, "batch[0] Duplicate", batch[0].Duplicate, false)
		equal(t, "batch[0] Deliveries", batch[0].Deliveries, 2)
		equal(t, "batch[1] Duplicate", batch[1].Duplicate, true)
		equal(t, "batch[1] Deliveries", batch[1].Deliveries, 2)
		equal(t, "batch[1] Event", batch[1].Event.Event, assetAdded)
		equal(t, "deliveries of the batch", len(claimAll(t, s, s.clock.Now())), 2)
	})

	// Contract: an event id repeats only for the API key that published
	// it (hookd.Republish). From another key it refuses the whole batch,
	// and the refusal holds nothing of the stored event.
	t.Run("DuplicatesPerKey", func(t *testing.T) {
		s := open(t)
		createWebhook(t, s, newWebhook("w", assetAdded))
		const keyA, keyB = 11, 12
		a := &hookd.Event{ID: "shared", Event: assetAdded, Data: json.RawMessage(`{"private": "of A"}`), PublisherKeyID: keyA}
		equal(t, "A's event Duplicate", publish(t, s, a)[0].Duplicate, false)

		taken := func(what string, err error, index int) {
			t.Helper()
			var got *hookd.EventIDTakenError
			if !errors.As(err, &got) || !errors.Is(err, hookd.ErrConflict) {
				t.Fatalf("%s: error %v, want an EventIDTakenError", what, err)
			}
			deepEqual(t, what, *got, hookd.EventIDTakenError{Index: index, ID: "shared"})
		}
		_, err := s.PublishEvents(ctx(t), []*hookd.Event{{ID: "shared", Event: assetAdded, PublisherKeyID: keyB}})
		taken("B publishing A's id", err, 0)
		// A batch is refused whole: B's new event before the conflict is
		// not stored, and queues nothing.
		_, err = s.PublishEvents(ctx(t), []*hookd.Event{
			{ID: "b-1", Event: assetAdded, PublisherKeyID: keyB},
			{ID: "shared", Event: assetAdded, PublisherKeyID: keyB},
		})
		taken("B's batch with A's id", err, 1)
		// Nor may a batch give one id to two keys, or an event with no key
		// repeat one with a key.
		_, err = s.PublishEvents(ctx(t), []*hookd.Event{
			{ID: "b-2", Event: assetAdded, PublisherKeyID: keyB},
			{ID: "b-2", Event: assetAdded, PublisherKeyID: keyA},
		})
		var mixed *hookd.EventIDTakenError
		if !errors.As(err, &mixed) || mixed.Index != 1 {
			t.Fatalf("a batch giving one id to two keys: %v, want an EventIDTakenError for event 1", err)
		}
		_, err = s.PublishEvents(ctx(t), []*hookd.Event{{ID: "shared", Event: assetAdded}})
		taken("no key publishing A's id", err, 0)

		equal(t, "deliveries", len(claimAll(t, s, s.clock.Now())), 1)
		res := publish(t, s, &hookd.Event{ID: "b-1", Event: assetAdded, PublisherKeyID: keyB},
			&hookd.Event{ID: "b-2", Event: assetAdded, PublisherKeyID: keyB})
		equal(t, "b-1 of the refused batch Duplicate", res[0].Duplicate, false)
		equal(t, "b-2 of the refused batch Duplicate", res[1].Duplicate, false)

		// A repeats its own event, and gets it back.
		again := publish(t, s, &hookd.Event{ID: "shared", Event: assetRemoved, PublisherKeyID: keyA})
		equal(t, "A's repeat Duplicate", again[0].Duplicate, true)
		checkEvent(t, "A's repeat", again[0].Event, *a)
	})

	t.Run("ProjectRegistry", func(t *testing.T) {
		s := open(t)
		res := publish(t, s,
			&hookd.Event{Event: hookd.EventProjectAdded, ProjectID: ptr("newproj"), Data: json.RawMessage(`{"title": "Hello"}`)},
			&hookd.Event{Event: hookd.EventProjectAdded, ProjectID: ptr("numbered"), Data: json.RawMessage(`{"title": 5}`)},
			&hookd.Event{Event: hookd.EventProjectAdded, Data: json.RawMessage(`{"title": "no id"}`)},
			// PostgreSQL's text takes no NUL: the title is kept as
			// LoggableText, on both stores, and the publish goes through.
			&hookd.Event{Event: hookd.EventProjectAdded, ProjectID: ptr("nul"), Data: json.RawMessage(`{"title": "a\u0000b"}`)},
			// Nor a title the admin API would refuse: a control character,
			// or more than 255 characters.
			&hookd.Event{Event: hookd.EventProjectAdded, ProjectID: ptr("long"),
				Data: json.RawMessage(`{"title": "line\nbreak ` + strings.Repeat("é", 300) + `"}`)},
		)
		for i, r := range res {
			equal(t, fmt.Sprintf("event %d Deliveries", i), r.Deliveries, 0)
		}
		p, err := s.Project(ctx(t), "newproj")
		must(t, err, "Project registered by PROJECT_ADDED")
		equal(t, "title from data.title", p.Title, "Hello")
		p, err = s.Project(ctx(t), "numbered")
		must(t, err, "Project registered by PROJECT_ADDED without a string title")
		equal(t, "title when data.title is not a string", p.Title, "")
		p, err = s.Project(ctx(t), "nul")
		must(t, err, "Project registered by PROJECT_ADDED with a NUL in its title")
		equal(t, "title with a NUL", p.Title, "a\uFFFDb")
		p, err = s.Project(ctx(t), "long")
		must(t, err, "Project registered by PROJECT_ADDED with a long title")
		equal(t, "long title", p.Title, "line\uFFFDbreak "+strings.Repeat("é", hookd.MaxProjectTitle-len("line break ")))
		list, err := s.ListProjects(ctx(t), hookd.ProjectFilter{Limit: hookd.MaxProjectPage})
		must(t, err, "ListProjects")
		equal(t, "projects", len(list), 4)

		// The project is usable at once, and a repeated PROJECT_ADDED is
		// accepted.
		w := newWebhook("scoped", hookd.EventProjectPurged)
		w.ProjectID = ptr("newproj")
		createWebhook(t, s, w)
		publish(t, s, &hookd.Event{Event: hookd.EventProjectAdded, ProjectID: ptr("newproj"), Data: json.RawMessage(`{"title": "Again"}`)})
		_, err = s.Project(ctx(t), "newproj")
		must(t, err, "Project after a repeated PROJECT_ADDED")

		// PROJECT_PURGED forgets the project, and still reaches the
		// project's webhooks.
		res = publish(t, s,
			&hookd.Event{Event: hookd.EventProjectPurged, ProjectID: ptr("newproj"), Data: json.RawMessage(`{}`)},
			&hookd.Event{Event: hookd.EventProjectPurged, ProjectID: ptr("never-known"), Data: json.RawMessage(`{}`)},
		)
		equal(t, "PROJECT_PURGED deliveries", res[0].Deliveries, 1)
		_, err = s.Project(ctx(t), "newproj")
		mustErr(t, err, hookd.ErrNotFound, "Project after PROJECT_PURGED")
		_, err = s.Project(ctx(t), "numbered")
		must(t, err, "the other project after PROJECT_PURGED")
	})

	t.Run("BatchIsOneTransaction", func(t *testing.T) {
		s := open(t)
		createWebhook(t, s, newWebhook("w", assetAdded))
		good := &hookd.Event{ID: "atomic-1", Event: assetAdded, Data: json.RawMessage(`{"ok": true}`)}
		bad := &hookd.Event{ID: "atomic-2", Event: assetAdded, Data: json.RawMessage(`{"broken"`)}
		if _, err := s.PublishEvents(ctx(t), []*hookd.Event{good, bad}); err == nil {
			t.Fatal("PublishEvents accepted data that is not JSON")
		}
		equal(t, "deliveries after a failed batch", len(claimAll(t, s, s.clock.Now())), 0)
		res := publish(t, s, &hookd.Event{ID: "atomic-1", Event: assetAdded, Data: json.RawMessage(`{"ok": true}`)})
		equal(t, "the good event of a failed batch was not stored", res[0].Duplicate, false)
		equal(t, "its deliveries", res[0].Deliveries, 1)
	})

	t.Run("LargeBatch", func(t *testing.T) {
		s := open(t)
		a := createWebhook(t, s, newWebhook("a", assetAdded))
		b := createWebhook(t, s, newWebhook("b", assetAdded, userAdded))
		const n = 505 // 907 deliveries: stores that insert them in chunks end with a partial one
		events := make([]*hookd.Event, n)
		for i := range events {
			name := assetAdded
			if i%5 == 0 {
				name = userAdded
			}
			events[i] = &hookd.Event{Event: name, UserID: ptr(int64(i)), Data: json.RawMessage(fmt.Sprintf(`{"i": %d}`, i))}
		}
		// The last repeats the fourth, hundreds of rows before it.
		events[3].ID, events[n-1].ID = "early", "early"
		res := publish(t, s, events...)
		total := 0
		for i, r := range res[:n-1] {
			want := 2
			if i%5 == 0 {
				want = 1
			}
			if r.Deliveries != want || r.Duplicate {
				t.Fatalf("event %d: %d deliveries (duplicate %v), want %d", i, r.Deliveries, r.Duplicate, want)
			}
			total += r.Deliveries
		}
		equal(t, "the repeat's Duplicate", res[n-1].Duplicate, true)
		equal(t, "the repeat's Deliveries", res[n-1].Deliveries, 2)
		equal(t, "the repeat's data", string(res[n-1].Event.Data), `{"i": 3}`)
		figures(t, s, a.ID, n-n/5-1, 0)
		figures(t, s, b.ID, n-1, 0)
		equal(t, "claimed", len(claimAll(t, s, s.clock.Now())), total)
	})

	t.Run("TraceParent", func(t *testing.T) {
		// The traceparent of the request that published an event goes with
		// its deliveries, so their attempts join its trace; a repeat answers
		// the original's.
		s := open(t)
		w := createWebhook(t, s, newWebhook("traced", assetAdded))
		const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
		res := publish(t, s,
			&hookd.Event{ID: "traced", Event: assetAdded, Data: json.RawMessage(`{}`), TraceParent: tp},
			&hookd.Event{ID: "untraced", Event: assetAdded, Data: json.RawMessage(`{}`)},
		)
		equal(t, "published TraceParent", res[0].Event.TraceParent, tp)
		again := publish(t, s, &hookd.Event{ID: "traced", Event: assetAdded, Data: json.RawMessage(`{}`),
			TraceParent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"})
		equal(t, "repeat TraceParent", again[0].Event.TraceParent, tp)
		must(t, s.PublishTo(ctx(t), w.ID, &hookd.Event{ID: "test", Event: assetAdded, Data: json.RawMessage(`{}`), TraceParent: tp}), "PublishTo")
		got := map[string]string{}
		for _, d := range claimAll(t, s, s.clock.Now()) {
			got[d.Event.ID] = d.Event.TraceParent
		}
		deepEqual(t, "claimed TraceParent by event", got, map[string]string{"traced": tp, "untraced": "", "test": tp})
	})
}

func testPublishTo(t *testing.T, open opener) {
	s := open(t)
	// The test action reaches a webhook whatever it subscribes to; other
	// webhooks do not get the event. It queues a delivery to a disabled
	// webhook too, which waits, like the webhook's other deliveries, until
	// the webhook is enabled again.
	w := newWebhook("target", assetAdded)
	w.Disabled = true
	createWebhook(t, s, w)
	createWebhook(t, s, newWebhook("bystander", userAdded))

	e := &hookd.Event{Event: userAdded, UserID: ptr(int64(3)), Data: json.RawMessage(`{"test": true}`), PublisherKeyID: 5}
	before := s.clock.Now()
	must(t, s.PublishTo(ctx(t), w.ID, e), "PublishTo")
	after := s.clock.Now()
	if e.ID == "" {
		t.Fatal("PublishTo did not assign an event id")
	}
	within(t, "CreatedAt", e.CreatedAt, before, after)
	figures(t, s, w.ID, 1, 0)

	equal(t, "claimed while the webhook is disabled", len(claimAll(t, s, s.clock.Now())), 0)
	_, err := s.UpdateWebhook(ctx(t), w.ID, hookd.WebhookUpdate{Disabled: ptr(false)})
	must(t, err, "UpdateWebhook enable")
	d := claimOne(t, s, s.clock.Now())
	equal(t, "WebhookID", d.WebhookID, w.ID)
	checkEvent(t, "delivered", d.Event, *e)

	mustErr(t, s.PublishTo(ctx(t), missingID, &hookd.Event{Event: userAdded, Data: json.RawMessage(`{}`)}),
		hookd.ErrNotFound, "PublishTo(unknown)")
	// Contract: an id that is already stored is a conflict.
	mustErr(t, s.PublishTo(ctx(t), w.ID, &hookd.Event{ID: e.ID, Event: userAdded, Data: json.RawMessage(`{}`)}),
		hookd.ErrConflict, "PublishTo with a stored id")
	equal(t, "deliveries after refused PublishTo", len(claimAll(t, s, s.clock.Now().Add(2*lease))), 1)

	// The test event is its key's, like a published one (hookd.Republish).
	res := publish(t, s, &hookd.Event{ID: e.ID, Event: userAdded, PublisherKeyID: e.PublisherKeyID})
	equal(t, "the test event repeated by its key: Duplicate", res[0].Duplicate, true)
	_, err = s.PublishEvents(ctx(t), []*hookd.Event{{ID: e.ID, Event: userAdded, PublisherKeyID: 6}})
	mustErr(t, err, hookd.ErrConflict, "the test event's id from another key")
}
