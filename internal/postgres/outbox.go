package postgres

import (
	"context"
	"errors"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd"
)

// OutboxChannel is the LISTEN/NOTIFY channel on which hookd_publish
// (migration 0014) tells that a row may have been committed to the outbox.
const OutboxChannel = "hookd_outbox"

var _ hookd.Outbox = (*Store)(nil)

// OutboxWakeup delivers a value when a platform may have committed rows to
// the outbox, here or after the listening connection reconnected.
func (s *Store) OutboxWakeup() <-chan struct{} { return s.outboxWake }

// OutboxSchema names the schema of the store's tables (its search_path's
// first), where migration 0014 created the outbox.
func (s *Store) OutboxSchema(ctx context.Context) (string, error) {
	var schema string
	err := s.pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema)
	return schema, wrapErr(err)
}

// RelayOutbox takes up to limit committed outbox rows (FOR UPDATE SKIP
// LOCKED: processes that relay at once take different rows), publishes
// their events with publishIn and deletes them, in one transaction: a row
// is published exactly once, whichever process takes it and whenever one
// dies. Rows refused by check, or whose id another publisher took, move
// to outbox_rejected in the same transaction.
func (s *Store) RelayOutbox(ctx context.Context, limit int, check func(hookd.OutboxRow) (*hookd.Event, error)) (hookd.OutboxRelayed, error) {
	var res hookd.OutboxRelayed
	var created int
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		res, created = hookd.OutboxRelayed{}, 0
		rows, _ := tx.Query(ctx, `
			DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED)
			RETURNING seq, id, event, project_id, user_id, data::text`, limit)
		taken, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (hookd.OutboxRow, error) {
			var o hookd.OutboxRow
			var data *string
			err := r.Scan(&o.Seq, &o.ID, &o.Event, &o.ProjectID, &o.UserID, &data)
			if data != nil {
				o.Data = []byte(*data)
			}
			return o, err
		})
		if err != nil {
			return err
		}
		slices.SortFunc(taken, func(a, b hookd.OutboxRow) int { return int(a.Seq - b.Seq) })
		res.Rows = len(taken)

		var events []*hookd.Event
		var from []hookd.OutboxRow // the row of each event
		for _, row := range taken {
			e, err := check(row)
			if err != nil {
				res.Rejected = append(res.Rejected, hookd.OutboxRejection{Row: row, Reason: err.Error()})
				continue
			}
			e.PublisherKeyID = hookd.OutboxPublisherKeyID
			events, from = append(events, e), append(from, row)
		}
		if err := hookd.NormalizeAll(events, s.clock.Now()); err != nil {
			return err
		}
		// An id another publisher took refuses the whole batch
		// (hookd.Republish): set that row aside and publish the others,
		// undoing the refused attempt with a savepoint.
		for len(events) > 0 {
			sp, err := tx.Begin(ctx)
			if err != nil {
				return err
			}
			out, n, err := s.publishIn(ctx, sp, events)
			var idTaken *hookd.EventIDTakenError
			if errors.As(err, &idTaken) {
				if err := sp.Rollback(ctx); err != nil {
					return err
				}
				i := idTaken.Index
				res.Rejected = append(res.Rejected, hookd.OutboxRejection{Row: from[i], Reason: idTaken.Error()})
				events, from = slices.Delete(events, i, i+1), slices.Delete(from, i, i+1)
				continue
			}
			if err != nil {
				return err
			}
			if err := sp.Commit(ctx); err != nil {
				return err
			}
			res.Published, created = out, n
			break
		}

		if len(res.Rejected) > 0 {
			now := s.clock.Now()
			b := &pgx.Batch{}
			for _, r := range res.Rejected {
				var data *string
				if r.Row.Data != nil {
					d := string(r.Row.Data)
					data = &d
				}
				b.Queue(`INSERT INTO outbox_rejected (seq, id, event, project_id, user_id, data, reason, rejected_at)
					VALUES ($1, $2, $3, $4, $5, $6::json, $7, $8)`,
					r.Row.Seq, r.Row.ID, r.Row.Event, r.Row.ProjectID, r.Row.UserID, data, r.Reason, now)
			}
			return tx.SendBatch(ctx, b).Close()
		}
		return nil
	})
	if err != nil {
		return hookd.OutboxRelayed{}, wrapErr(err)
	}
	if created > 0 {
		s.wakeup()
	}
	return res, nil
}
