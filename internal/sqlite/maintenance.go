package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/hookd/hookd"
)

// DisableFailing disables the enabled webhooks that have been failing since
// before (hookd.Health.FailingBefore), parks their deliveries, and returns
// their ids in order.
func (s *Store) DisableFailing(ctx context.Context, before time.Time) ([]int64, error) {
	ids := []int64{}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// The WHERE only narrows the rows read; FailingBefore decides.
		rows, err := tx.QueryContext(ctx, `SELECT id, failing_since FROM webhooks
			WHERE disabled = 0 AND failing_since <= ? ORDER BY id`, ms(before))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				id      int64
				failing sql.NullInt64
			)
			if err := rows.Scan(&id, &failing); err != nil {
				return err
			}
			if (hookd.Health{FailingSince: timePtr(failing)}).FailingBefore(before) {
				ids = append(ids, id)
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		now := s.clock.Now()
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, `UPDATE webhooks SET disabled = 1, updated_at = ? WHERE id = ?`, ms(now), id); err != nil {
				return err
			}
			if err := applyDisabledChange(ctx, tx, id, hookd.ChangeDisabled(false, true), now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}
