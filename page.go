package hookd

// Paging of the success and failed logs: a page holds DefaultPerPage
// entries when the caller gives no size, and at most MaxPerPage.
const (
	DefaultPerPage = 25
	MaxPerPage     = 100
)

// Page returns the rows a 1-based page of perPage rows covers: a page below
// 1 is the first, a perPage below 1 is DefaultPerPage, one above MaxPerPage
// is MaxPerPage.
func Page(page, perPage int) (limit int, offset int64) {
	page, limit = max(page, 1), min(perPage, MaxPerPage)
	if limit < 1 {
		limit = DefaultPerPage
	}
	return limit, int64(page-1) * int64(limit)
}
