package hookd

import "testing"

func TestPage(t *testing.T) {
	for _, c := range []struct {
		page, perPage, limit int
		offset               int64
	}{
		{1, 10, 10, 0},
		{3, 10, 10, 20},
		{0, 0, DefaultPerPage, 0},
		{-2, -1, DefaultPerPage, 0},
		{2, 0, DefaultPerPage, DefaultPerPage},
		{1 << 30, 100, 100, (1<<30 - 1) * 100},
		{2, MaxPerPage + 1, MaxPerPage, MaxPerPage},
	} {
		if limit, offset := Page(c.page, c.perPage); limit != c.limit || offset != c.offset {
			t.Errorf("Page(%d, %d) = %d, %d; want %d, %d", c.page, c.perPage, limit, offset, c.limit, c.offset)
		}
	}
}
