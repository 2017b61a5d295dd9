package hookd

// DefaultPerPage is the page size of a listing when the caller gives none.
const DefaultPerPage = 50

// Page returns the rows a 1-based page of perPage rows covers: a page below
// 1 is the first, a perPage below 1 is DefaultPerPage.
func Page(page, perPage int) (limit int, offset int64) {
	page, limit = max(page, 1), perPage
	if limit < 1 {
		limit = DefaultPerPage
	}
	return limit, int64(page-1) * int64(limit)
}
