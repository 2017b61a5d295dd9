package http

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hookd/hookd"
)

// maxSearchLength bounds the search text: a name is at most 255
// characters, a URL rarely more than a few hundred.
const maxSearchLength = 2048

// ruleSearch is the rule of a search's characters: those a name can hold
// (params.Text's rule, tab included).
const ruleSearch = "Must be a String of valid UTF-8, without control characters"

var ruleWebhookSort = func() string {
	keys := make([]string, 0, 2*len(hookd.WebhookSortKeys))
	for _, k := range hookd.WebhookSortKeys {
		keys = append(keys, string(k), "-"+string(k))
	}
	return "Must be one of: " + strings.Join(keys, ", ")
}()

var ruleWebhookHealth = func() string {
	names := make([]string, len(hookd.WebhookHealths))
	for i, h := range hookd.WebhookHealths {
		names[i] = string(h)
	}
	return "Must be one of: " + strings.Join(names, ", ")
}()

// listParams reads hookd's optional parameters of the webhook list into f:
// q (search), sort, health, no_project, and page and per_page, and reports whether
// the list is paged. Without them the list is MediaPocket's, every webhook
// by id.
func listParams(r *http.Request, f *hookd.WebhookFilter) (paged bool, err error) {
	q := r.URL.Query()
	if f.Search, err = searchParam(q); err != nil {
		return false, err
	}
	if q.Has("sort") {
		if f.Sort, err = hookd.ParseWebhookSort(q.Get("sort")); err != nil {
			return false, invalid("sort", q.Get("sort"), ruleWebhookSort)
		}
	}
	if q.Has("health") {
		f.Health = hookd.WebhookHealth(q.Get("health"))
		if !slices.Contains(hookd.WebhookHealths, f.Health) {
			return false, invalid("health", q.Get("health"), ruleWebhookHealth)
		}
	}
	if q.Has("no_project") {
		p := params{obj: map[string]any{"no_project": q.Get("no_project")}}
		noProject, _ := p.Boolean("no_project")
		if p.err != nil {
			return false, p.err
		}
		f.NoProject = *noProject
	}
	if !q.Has("page") && !q.Has("per_page") {
		return false, nil
	}
	pageNo, perPage, err := page(r)
	if err != nil {
		return false, err
	}
	f.Limit = perPage
	f.Offset = int64(pageNo-1) * int64(perPage)
	return true, nil
}

// searchParam reads a list's search text, q ("" when absent).
func searchParam(q url.Values) (string, error) {
	search := strings.TrimSpace(q.Get("q"))
	if len(search) > maxSearchLength {
		return "", invalid("q", q.Get("q"), fmt.Sprintf("Must be a String of at most %d bytes", maxSearchLength))
	}
	// Neither store can search for such a text: PostgreSQL refuses NUL
	// and invalid UTF-8, SQLite's LIKE ends its pattern at NUL (and would
	// match every row). Surrounding whitespace (a newline pasted with the
	// text) was trimmed above, as always.
	if !utf8.ValidString(search) || strings.ContainsFunc(search, hookd.IsControl) {
		return "", invalid("q", q.Get("q"), ruleSearch)
	}
	return search, nil
}

// setPageHeaders tells a paged list's total in X-Total-Count and links its
// first, previous, next and last pages in Link (RFC 8288), so that the body
// keeps MediaPocket's shape.
func setPageHeaders(w http.ResponseWriter, r *http.Request, total int, f hookd.WebhookFilter) {
	w.Header().Set("X-Total-Count", strconv.Itoa(total))
	pageNo := f.Offset/int64(f.Limit) + 1
	last := max(1, (int64(total)+int64(f.Limit)-1)/int64(f.Limit))
	link := func(n int64, rel string) string {
		q := r.URL.Query()
		q.Set("page", strconv.FormatInt(n, 10))
		q.Set("per_page", strconv.Itoa(f.Limit))
		u := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
		return "<" + u.String() + `>; rel="` + rel + `"`
	}
	links := []string{link(1, "first")}
	if pageNo > 1 {
		links = append(links, link(min(pageNo-1, last), "prev"))
	}
	if pageNo < last {
		links = append(links, link(pageNo+1, "next"))
	}
	links = append(links, link(last, "last"))
	w.Header().Set("Link", strings.Join(links, ", "))
}
