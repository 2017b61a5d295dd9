package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/multitracer"

	"github.com/hookd/hookd"
)

// observed returns tracer (the caller's, or nil) with a queryTracer of
// observe added.
func observed(tracer pgx.QueryTracer, observe hookd.QueryObserver) pgx.QueryTracer {
	t := queryTracer{observe: observe}
	if tracer == nil {
		return t
	}
	return multitracer.New(tracer, t)
}

// queryTracer reports each statement pgx runs (queries, transaction begins
// and ends, each statement of a batch) to a hookd.QueryObserver.
type queryTracer struct{ observe hookd.QueryObserver }

type queryStartKey struct{}

type queryStart struct {
	sql string
	at  time.Time
}

func (t queryTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	return context.WithValue(ctx, queryStartKey{}, queryStart{sql: data.SQL, at: time.Now()})
}

// TraceQueryEnd is called when a query's rows are closed, so its time
// covers reading them.
func (t queryTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryEndData) {
	if q, ok := ctx.Value(queryStartKey{}).(queryStart); ok {
		t.observe(q.sql, time.Since(q.at), failure(data.Err))
	}
}

func (t queryTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}

// TraceBatchQuery reports one statement of a batch, timed from when pgx
// began reading its result: the statements' times add up to the batch's.
func (t queryTracer) TraceBatchQuery(_ context.Context, _ *pgx.Conn, data pgx.TraceBatchQueryData) {
	t.observe(data.SQL, time.Since(data.ReadStartTime), failure(data.Err))
}

func (t queryTracer) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// failure is err as a QueryObserver is told it: a statement refused by a
// constraint, which the store answers as ErrConflict or ErrNotFound, did
// not fail.
func failure(err error) error {
	if isCode(err, codeUniqueViolation) || isCode(err, codeForeignKeyViolation) {
		return nil
	}
	return err
}
