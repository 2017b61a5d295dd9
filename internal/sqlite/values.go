package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// valuesStatement is a statement over a VALUES list of bound parameters,
// prepared once in each power-of-two size: rows of any count run as a few
// statements, largest first, with no statement prepared at the call.
//
// A publish's events and deliveries and a batch of results go in this way
// rather than as one JSON argument (json_each and ->>): SQLite turned each
// row of the JSON back into text and parsed it again for every column, a
// tenth of hookd's CPU when it delivered single events. Each size is
// prepared once only because hotQueries lists it; a size missing there
// would be prepared in every transaction.
type valuesStatement struct {
	cols  int
	sized []string // sized[k] holds 1<<k rows
}

// newValuesStatement returns the statement before + rows + after, where
// each row is row, a parenthesized list with one ? a column ("(?, ?, 0)"),
// in sizes up to maxRows rows (a power of two).
func newValuesStatement(before, row, after string, maxRows int) valuesStatement {
	v := valuesStatement{cols: strings.Count(row, "?")}
	for n := 1; n <= maxRows; n *= 2 {
		var b strings.Builder
		b.WriteString(before)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			// Plain ? rather than ?NNN: the driver looks each numbered
			// parameter's name up in a list as long as the statement's.
			b.WriteString(row)
		}
		b.WriteString(after)
		v.sized = append(v.sized, b.String())
	}
	return v
}

// maxRows is the most rows one of its statements takes.
func (v valuesStatement) maxRows() int { return 1 << (len(v.sized) - 1) }

// exec runs the statement over args, cols of them a row, in tx.
func (v valuesStatement) exec(ctx context.Context, s *Store, tx *sql.Tx, args []any) error {
	return v.chunks(ctx, s, tx, args, func(st *sql.Stmt, args []any) error {
		_, err := st.ExecContext(ctx, args...)
		return err
	})
}

// query runs the statement over args, cols of them a row, in tx, and
// calls scan on each row it returns.
func (v valuesStatement) query(ctx context.Context, s *Store, tx *sql.Tx, args []any, scan func(*sql.Rows) error) error {
	return v.chunks(ctx, s, tx, args, func(st *sql.Stmt, args []any) error {
		rows, err := st.QueryContext(ctx, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				return err
			}
		}
		return rows.Err()
	})
}

// chunks calls run with each chunk of args, largest first, and the
// statement of tx of its size.
func (v valuesStatement) chunks(ctx context.Context, s *Store, tx *sql.Tx, args []any, run func(st *sql.Stmt, args []any) error) error {
	if len(args)%v.cols != 0 {
		return fmt.Errorf("sqlite: %d arguments are no whole rows of %d", len(args), v.cols)
	}
	for len(args) > 0 {
		k := len(v.sized) - 1
		for 1<<k > len(args)/v.cols {
			k--
		}
		st, err := s.prepared(ctx, tx, v.sized[k])
		if err != nil {
			return err
		}
		n := (1 << k) * v.cols
		if err := run(st, args[:n]); err != nil {
			return err
		}
		args = args[n:]
	}
	return nil
}
