package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

func testAPIKeys(t *testing.T, open opener) {
	s := open(t)

	k1, plain := hookd.NewAPIKey(7, "ci", hookd.RoleAdmin)
	before := s.clock.Now()
	must(t, s.CreateAPIKey(ctx(t), k1), "CreateAPIKey")
	after := s.clock.Now()
	if k1.ID == 0 {
		t.Fatal("CreateAPIKey left ID zero")
	}
	within(t, "CreatedAt", k1.CreatedAt, before, after)

	got, err := s.APIKeyByPrefix(ctx(t), k1.Prefix)
	must(t, err, "APIKeyByPrefix")
	equal(t, "ID", got.ID, k1.ID)
	equal(t, "UserID", got.UserID, int64(7))
	equal(t, "Prefix", got.Prefix, k1.Prefix)
	equal(t, "Name", got.Name, "ci")
	equal(t, "Role", got.Role, hookd.RoleAdmin)
	deepEqual(t, "SecretHash", got.SecretHash, k1.SecretHash)
	sameTime(t, "CreatedAt", got.CreatedAt, k1.CreatedAt)
	if got.LastAccess != nil {
		t.Errorf("LastAccess = %v for an unused key, want nil", got.LastAccess)
	}
	_, secret, _ := hookd.ParseAPIKey(plain)
	if !got.Verify(secret) {
		t.Error("the stored key does not verify its own secret")
	}

	dup := &hookd.APIKey{UserID: 8, Prefix: k1.Prefix, SecretHash: hookd.HashSecret("other"), Name: "dup", Role: hookd.RolePublisher}
	mustErr(t, s.CreateAPIKey(ctx(t), dup), hookd.ErrConflict, "CreateAPIKey with a taken prefix")

	_, err = s.APIKeyByPrefix(ctx(t), "nope")
	mustErr(t, err, hookd.ErrNotFound, "APIKeyByPrefix(unknown)")

	// A key may come with its creation time (bootstrap, import).
	k2, _ := hookd.NewAPIKey(7, "second", hookd.RolePublisher)
	k2.CreatedAt = time.Date(2023, 11, 27, 9, 42, 39, 937_654_321, time.FixedZone("EET", 2*3600))
	must(t, s.CreateAPIKey(ctx(t), k2), "CreateAPIKey k2")
	k3, _ := hookd.NewAPIKey(8, "other user", hookd.RolePublisher)
	must(t, s.CreateAPIKey(ctx(t), k3), "CreateAPIKey k3")

	// Contract: a user's keys are listed in the order they were made.
	list, err := s.ListAPIKeys(ctx(t), 7)
	must(t, err, "ListAPIKeys(7)")
	deepEqual(t, "ListAPIKeys(7) ids", ids(list, func(k *hookd.APIKey) int64 { return k.ID }), []int64{k1.ID, k2.ID})
	if len(list) == 2 {
		sameTime(t, "listed k2 CreatedAt", list[1].CreatedAt, k2.CreatedAt)
		equal(t, "listed k2 Name", list[1].Name, "second")
	}
	none, err := s.ListAPIKeys(ctx(t), 99)
	must(t, err, "ListAPIKeys(99)")
	if none == nil || len(none) != 0 {
		t.Errorf("ListAPIKeys of a user without keys = %#v, want an empty list", none)
	}

	// Deleting is scoped to the owner: another user's key is not found.
	mustErr(t, s.DeleteAPIKey(ctx(t), 8, k1.ID), hookd.ErrNotFound, "DeleteAPIKey by another user")
	if _, err := s.APIKeyByPrefix(ctx(t), k1.Prefix); err != nil {
		t.Fatalf("a failed delete by another user removed the key: %v", err)
	}
	must(t, s.DeleteAPIKey(ctx(t), 7, k1.ID), "DeleteAPIKey")
	_, err = s.APIKeyByPrefix(ctx(t), k1.Prefix)
	mustErr(t, err, hookd.ErrNotFound, "APIKeyByPrefix after delete")
	mustErr(t, s.DeleteAPIKey(ctx(t), 7, k1.ID), hookd.ErrNotFound, "DeleteAPIKey twice")
	list, err = s.ListAPIKeys(ctx(t), 7)
	must(t, err, "ListAPIKeys after delete")
	deepEqual(t, "ListAPIKeys(7) after delete", ids(list, func(k *hookd.APIKey) int64 { return k.ID }), []int64{k2.ID})

	used := time.Date(2024, 3, 1, 12, 0, 0, 123_456_789, time.FixedZone("X", -5*3600))
	must(t, s.touchAt(used, k3.ID), "TouchAPIKey")
	got, err = s.APIKeyByPrefix(ctx(t), k3.Prefix)
	must(t, err, "APIKeyByPrefix after touch")
	if got.LastAccess == nil {
		t.Fatal("TouchAPIKey did not set LastAccess")
	}
	sameTime(t, "LastAccess", *got.LastAccess, used)
	mustErr(t, s.touchAt(used, missingID), hookd.ErrNotFound, "TouchAPIKey(unknown)")
}

func testProjects(t *testing.T, open opener) {
	t.Run("pages", func(t *testing.T) { testProjectPages(t, open) })
	s := open(t)
	all := hookd.ProjectFilter{Limit: hookd.MaxProjectPage}

	// Contract: ListProjects is in registration order (created_at, then id).
	old := &hookd.Project{ID: "zzOldProject", Title: "Old", CreatedAt: s.clock.Now().Add(-time.Hour)}
	must(t, s.CreateProject(ctx(t), old), "CreateProject old")

	p := &hookd.Project{ID: "dh2NNcH3slJtkJqnfCD2", Title: "Alpha"}
	before := s.clock.Now()
	must(t, s.CreateProject(ctx(t), p), "CreateProject")
	after := s.clock.Now()
	within(t, "CreatedAt", p.CreatedAt, before, after)
	within(t, "UpdatedAt", p.UpdatedAt, before, after)

	mustErr(t, s.CreateProject(ctx(t), &hookd.Project{ID: p.ID, Title: "again"}), hookd.ErrConflict, "CreateProject with a taken id")

	got, err := s.Project(ctx(t), p.ID)
	must(t, err, "Project")
	equal(t, "ID", got.ID, p.ID)
	equal(t, "Title", got.Title, "Alpha")
	sameTime(t, "CreatedAt", got.CreatedAt, p.CreatedAt)
	sameTime(t, "UpdatedAt", got.UpdatedAt, p.UpdatedAt)

	_, err = s.Project(ctx(t), "missing")
	mustErr(t, err, hookd.ErrNotFound, "Project(missing)")

	later := &hookd.Project{ID: "aaLaterProject", Title: "Later", CreatedAt: after.Add(time.Second)}
	must(t, s.CreateProject(ctx(t), later), "CreateProject later")

	list, err := s.ListProjects(ctx(t), all)
	must(t, err, "ListProjects")
	var got3 []string
	for _, p := range list {
		got3 = append(got3, p.ID)
	}
	deepEqual(t, "ListProjects", got3, []string{old.ID, p.ID, later.ID})
	if len(list) == 3 {
		equal(t, "listed title", list[0].Title, "Old")
		sameTime(t, "listed CreatedAt", list[0].CreatedAt, old.CreatedAt)
	}

	must(t, s.DeleteProject(ctx(t), p.ID), "DeleteProject")
	_, err = s.Project(ctx(t), p.ID)
	mustErr(t, err, hookd.ErrNotFound, "Project after delete")
	mustErr(t, s.DeleteProject(ctx(t), p.ID), hookd.ErrNotFound, "DeleteProject twice")
	list, err = s.ListProjects(ctx(t), all)
	must(t, err, "ListProjects after delete")
	equal(t, "projects after delete", len(list), 2)

	empty := open(t)
	list, err = empty.ListProjects(ctx(t), all)
	must(t, err, "ListProjects on an empty store")
	if list == nil || len(list) != 0 {
		t.Errorf("ListProjects on an empty store = %#v, want an empty list", list)
	}
}

// testProjectPages: ListProjects gives a page of the registry, oldest
// first, searched by id or title (the case of ASCII letters ignored, LIKE's
// wildcards taken literally), from after a project.
func testProjectPages(t *testing.T, open opener) {
	s := open(t)
	base := s.clock.Now()
	for i, p := range []struct{ id, title string }{
		{"alpha", "Spring Campaign"}, {"beta", "Autumn campaign"}, {"gamma", "100% off"},
		{"delta_1", "Winter"}, {"deltax1", "Summer"}, {"epsilon", "Été"},
	} {
		must(t, s.CreateProject(ctx(t), &hookd.Project{ID: p.id, Title: p.title, CreatedAt: base.Add(time.Duration(i) * time.Second)}), "CreateProject "+p.id)
	}
	list := func(f hookd.ProjectFilter) []string {
		t.Helper()
		if f.Limit == 0 {
			f.Limit = hookd.MaxProjectPage
		}
		ps, err := s.ListProjects(ctx(t), f)
		must(t, err, fmt.Sprintf("ListProjects(%+v)", f))
		out := []string{}
		for _, p := range ps {
			out = append(out, p.ID)
		}
		return out
	}
	deepEqual(t, "a page of 2", list(hookd.ProjectFilter{Limit: 2}), []string{"alpha", "beta"})
	deepEqual(t, "the next page", list(hookd.ProjectFilter{Limit: 2, After: "beta"}), []string{"gamma", "delta_1"})
	deepEqual(t, "the last page", list(hookd.ProjectFilter{Limit: 2, After: "deltax1"}), []string{"epsilon"})
	deepEqual(t, "after the last", list(hookd.ProjectFilter{After: "epsilon"}), []string{})
	deepEqual(t, "by title, any case", list(hookd.ProjectFilter{Query: "CAMPAIGN"}), []string{"alpha", "beta"})
	deepEqual(t, "by id", list(hookd.ProjectFilter{Query: "amm"}), []string{"gamma"})
	deepEqual(t, "% is a character", list(hookd.ProjectFilter{Query: "0%"}), []string{"gamma"})
	deepEqual(t, "_ is a character", list(hookd.ProjectFilter{Query: "a_"}), []string{"delta_1"})
	// Only ASCII letters fold, on both stores.
	deepEqual(t, "É is not é", list(hookd.ProjectFilter{Query: "été"}), []string{})
	deepEqual(t, "Été", list(hookd.ProjectFilter{Query: "Été"}), []string{"epsilon"})
	deepEqual(t, "search and page", list(hookd.ProjectFilter{Query: "campaign", After: "alpha"}), []string{"beta"})
	_, err := s.ListProjects(ctx(t), hookd.ProjectFilter{Limit: 10, After: "missing"})
	mustErr(t, err, hookd.ErrNotFound, "ListProjects after a project not registered")

	// Projects created at the same moment (a batch of PROJECT_ADDED) come
	// by id, its bytes compared (upper case before lower), on every store,
	// and a page ending among them goes on with the rest.
	tie := base.Add(time.Hour)
	for _, id := range []string{"b-tie", "B-tie", "a-tie", "_tie"} {
		must(t, s.CreateProject(ctx(t), &hookd.Project{ID: id, Title: "tied", CreatedAt: tie}), "CreateProject "+id)
	}
	deepEqual(t, "ties by id", list(hookd.ProjectFilter{Query: "tied"}), []string{"B-tie", "_tie", "a-tie", "b-tie"})
	deepEqual(t, "a page ending among ties", list(hookd.ProjectFilter{Query: "tied", Limit: 2}), []string{"B-tie", "_tie"})
	deepEqual(t, "the page after", list(hookd.ProjectFilter{Query: "tied", After: "_tie"}), []string{"a-tie", "b-tie"})
}
