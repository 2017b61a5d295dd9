package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hookd/hookd"
)

// claimCandidateColumns read a webhook as a claim at $1 finds it
// (hookd.ClaimCandidate): its settings, circuit, health, throttle, when it
// was last served, its leases not expired (deliveries_webhook_leased)
// and, with claimDue, its due deliveries counted up to $2 + 1, one more than
// the claim's limit.
const (
	claimCandidateColumns = `w.id, w.max_in_flight, w.max_per_second, w.circuit_state, w.circuit_probe_at,
	w.failing_since IS NOT NULL, wc.throttle_next_at, wc.last_claimed_at,
	(SELECT count(*) FROM deliveries d
	 WHERE d.webhook_id = w.id AND d.state = 'pending' AND d.leased_by IS NOT NULL AND d.lease_until > $1),
	due.n`
	claimDue = `LEFT JOIN webhook_claims wc ON wc.webhook_id = w.id
	CROSS JOIN LATERAL (SELECT count(*) AS n FROM (
		SELECT 1 FROM deliveries d WHERE d.webhook_id = w.id AND d.state = 'pending' AND d.next_attempt_at <= $1
		LIMIT $2 + 1) x) due`
)

// queueLookupsSQL tells the planner, for the rest of a transaction of
// Claim or Complete, never to read the queue whole (a sequential or bitmap
// scan). The queue fills and empties, so its statistics are mostly from
// another moment; taken while it held a few dozen deliveries among the
// dead rows of thousands, they make a full queue look tiny, and the
// planner then read all of it to find the 64 deliveries that Complete
// settles by id: 9 to 20 ms a statement instead of 0.3 (TestComplete
// LooksUpByIdWithStaleStatistics). Every statement of these transactions
// finds deliveries by key, for which an index is right whatever the
// queue's size; 0021 leaves the queue no index that lists every row.
//
// It also has their statements run on the plans made when they were
// prepared: planning them again for each call (a custom plan, over the
// partitions of deliveries) cost a claim about a third of its time.
const queueLookupsSQL = `SELECT set_config('enable_seqscan', 'off', true), set_config('enable_bitmapscan', 'off', true),
	set_config('plan_cache_mode', 'force_generic_plan', true)`

// claimCandidatesSQL finds the enabled webhooks with due deliveries: a skip
// scan of deliveries_webhook_due, one descent per webhook with pending
// deliveries, however long its queue.
const claimCandidatesSQL = `
WITH RECURSIVE pending AS (
	(SELECT webhook_id FROM deliveries WHERE state = 'pending' ORDER BY webhook_id LIMIT 1)
	UNION ALL
	SELECT (SELECT d.webhook_id FROM deliveries d
	        WHERE d.state = 'pending' AND d.webhook_id > p.webhook_id ORDER BY d.webhook_id LIMIT 1)
	FROM pending p WHERE p.webhook_id IS NOT NULL
)
SELECT ` + claimCandidateColumns + `
FROM pending p JOIN webhooks w ON w.id = p.webhook_id ` + claimDue + `
WHERE NOT w.disabled AND due.n > 0`

// claimLockSQL takes the claim locks of the webhooks a claim means to
// serve, skipping those another claim holds; claimLockedSQL reads them
// again once locked, so that what it counts is not older than the lock.
const (
	claimLockSQL   = `SELECT id FROM unnest($1::bigint[]) AS id WHERE pg_try_advisory_xact_lock(` + claimKey + `) ORDER BY id`
	claimLockedSQL = `SELECT ` + claimCandidateColumns + ` FROM webhooks w ` + claimDue + `
		WHERE w.id = ANY($3) AND NOT w.disabled AND due.n > 0`
)

// claimKey is the key of the claim lock of the webhook whose id is in the
// column id: a transaction-level advisory lock, not the webhook's row,
// which Complete locks to record the webhook's health (0020). The key
// names the schema: advisory locks are the database's, and several hookd
// schemas may share one database.
const claimKey = `hashtextextended('hookd.claim.' || coalesce(current_schema(), '') || '.' || id, 0)`

// claimLeaseSQL takes the probes the grants take (a compare-and-set of
// the circuit: a grant whose circuit moved since it was read is dropped;
// so is one whose due deliveries another transaction holds, which leaves
// the circuit as it was rather than half open with no probe out), leases
// each grant's oldest due deliveries, writes what the claim changed of
// each webhook served (hookd.ClaimGrant) and returns the leased
// deliveries with their events. Webhooks are locked before deliveries, as
// Complete locks them.
const claimLeaseSQL = `
WITH all_grants AS (
	SELECT * FROM unnest($1::bigint[], $2::int[], $3::timestamptz[], $4::text[], $5::timestamptz[],
	                     $9::bool[], $10::text[], $11::timestamptz[])
		AS g(webhook_id, take, throttle_next_at, circuit_state, circuit_probe_at, probe, probe_from, probe_from_at)
), probe_locks AS MATERIALIZED (
	-- The probes' webhooks, locked in id order, as a Complete locks them
	-- (healthSQL): in another order the two could deadlock.
	SELECT id FROM webhooks WHERE id IN (SELECT webhook_id FROM all_grants WHERE probe)
	ORDER BY id
	FOR NO KEY UPDATE
), probe_picked AS MATERIALIZED (
	SELECT d.id, g.webhook_id FROM all_grants g CROSS JOIN LATERAL (` + claimDueSQL + `) d
	WHERE g.probe AND g.webhook_id IN (SELECT id FROM probe_locks)
), probed AS (
	UPDATE webhooks w SET circuit_state = g.circuit_state, circuit_probe_at = g.circuit_probe_at
	FROM all_grants g
	WHERE g.probe AND w.id = g.webhook_id AND w.id IN (SELECT webhook_id FROM probe_picked)
	  AND w.circuit_state = g.probe_from AND w.circuit_probe_at IS NOT DISTINCT FROM g.probe_from_at
	RETURNING w.id
), g AS (
	SELECT * FROM all_grants WHERE NOT probe OR webhook_id IN (SELECT id FROM probed)
), picked AS MATERIALIZED (
	SELECT id FROM probe_picked WHERE webhook_id IN (SELECT id FROM probed)
	UNION ALL
	SELECT d.id FROM all_grants g CROSS JOIN LATERAL (` + claimDueSQL + `) d
	WHERE NOT g.probe
), served AS (
	INSERT INTO webhook_claims (webhook_id, last_claimed_at, throttle_next_at)
	SELECT webhook_id, $6, throttle_next_at FROM g
	ON CONFLICT (webhook_id) DO UPDATE SET last_claimed_at = excluded.last_claimed_at,
	                                       throttle_next_at = excluded.throttle_next_at
), claimed AS (
	UPDATE deliveries d SET leased_by = $7, lease_until = $8, next_attempt_at = $8
	FROM picked WHERE d.id = picked.id AND d.state = 'pending' -- the queue partition only (0016)
	RETURNING d.id, d.webhook_id, d.message_id, d.event_id, d.attempts, d.created_at, d.lane IS NOT NULL AS ordered
)
SELECT c.id, c.webhook_id, c.message_id, c.attempts, c.created_at, c.ordered,
       e.id, e.event, e.project_id, e.user_id, e.data, e.created_at, e.trace_parent
FROM claimed c JOIN events e ON e.id = c.event_id
ORDER BY c.id`

// claimDueSQL locks the oldest due deliveries of grant g (g.take of
// them), skipping those another transaction holds.
const claimDueSQL = `
		SELECT id FROM deliveries
		WHERE webhook_id = g.webhook_id AND state = 'pending' AND next_attempt_at <= $6
		ORDER BY next_attempt_at, id
		LIMIT g.take
		FOR UPDATE SKIP LOCKED`

// Claim leases due deliveries to req.Worker until now+lease, as
// hookd.PlanClaim shares them out among the webhooks, and returns them by
// id. It plans over the webhooks with due deliveries, takes the claim
// locks of those it means to serve (claimKey, skipping those held:
// concurrent claims, in this process or another, serve different
// webhooks; a Complete does not wait for them), reads them again under
// the lock and plans over them: what it counts in flight includes every
// process's leases, so the shares and throttles hold across processes. Its
// cost: one index descent per webhook with pending deliveries (a backlog
// or a disabled webhook's parked deliveries are skipped over, not read),
// two probes per webhook with due deliveries, then only the deliveries it
// leases; three round trips (the first begins the transaction, the last
// commits it), one more for each round in which concurrent
// claims held webhooks it meant to serve (lockServed). The claim moves
// next_attempt_at to the end of the lease: a delivery whose worker died is
// due again then.
func (s *Store) Claim(ctx context.Context, req hookd.ClaimRequest) (hookd.Claimed, error) {
	out := hookd.Claimed{Deliveries: []*hookd.Delivery{}}
	if req.Limit <= 0 {
		return out, nil
	}
	now := s.clock.Now()
	var (
		first      hookd.ClaimPlan
		candidates []hookd.ClaimCandidate
	)
	// The transaction is begun by the first batch and committed by the
	// lease's, so that neither is a round trip of its own. On failure it
	// is rolled back (a connection left in a transaction would not go
	// back to the pool: pgxpool destroys it).
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return hookd.Claimed{}, wrapErr(err)
	}
	defer conn.Release()
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue(queueLookupsSQL)
	b.Queue(claimCandidatesSQL, now, req.Limit).Query(func(rows pgx.Rows) (err error) {
		candidates, err = collectCandidates(rows)
		return err
	})
	err = conn.SendBatch(ctx, b).Close()
	var plan hookd.ClaimPlan
	var locked []hookd.ClaimCandidate
	if err == nil {
		locked, first, err = lockServed(ctx, conn, req, now, candidates)
		out.HeldShare, out.HeldBack = first.HeldShare, first.HeldBack
	}
	if err == nil {
		if len(locked) > 0 {
			plan = hookd.PlanClaim(now, req, locked)
		}
		if plan.HeldShare != 0 && (out.HeldShare == 0 || plan.HeldShare < out.HeldShare) {
			out.HeldShare = plan.HeldShare
		}
		out.HeldBack = append(out.HeldBack, plan.HeldBack...)
		out.Deliveries, out.TargetsVersion, err = leaseAndCommit(ctx, conn, req, now, plan.Grants)
	}
	if err != nil {
		if pg := conn.Conn().PgConn(); !pg.IsClosed() && pg.TxStatus() != 'I' {
			conn.Exec(ctx, "ROLLBACK")
		}
		return hookd.Claimed{}, wrapErr(err)
	}
	if !first.WakeAt.IsZero() {
		s.alarm.Set(first.WakeAt.Sub(now), s.wakeup)
	}
	return out, nil
}

// lockRounds bounds how many times a claim looks for other webhooks to
// serve in place of those that concurrent claims hold.
const lockRounds = 3

// lockServed locks the webhooks that hookd.PlanClaim serves of candidates
// (claimLockSQL) and reads them again under the lock (claimLockedSQL, a
// statement of its own so that what it counts is not older than the
// lock), both in one round trip. Those that concurrent claims hold are
// skipped and the plan is made again without them, so that the claim
// serves others, for up to lockRounds rounds. It returns the webhooks
// locked, as read under the lock, and the first round's plan, made with
// every candidate.
func lockServed(ctx context.Context, tx batcher, req hookd.ClaimRequest, now time.Time, candidates []hookd.ClaimCandidate) ([]hookd.ClaimCandidate, hookd.ClaimPlan, error) {
	var (
		locked []hookd.ClaimCandidate
		first  hookd.ClaimPlan
		held   = map[int64]bool{} // locked by this claim or by another
	)
	for round := 0; round < lockRounds; round++ {
		plan := hookd.PlanClaim(now, req, candidates)
		if round == 0 {
			first = plan
		}
		var want []int64
		for _, g := range plan.Grants {
			if !held[g.WebhookID] {
				want = append(want, g.WebhookID)
			}
		}
		if len(want) == 0 {
			break
		}
		var (
			got    []int64
			reread []hookd.ClaimCandidate
		)
		b := &pgx.Batch{}
		b.Queue(claimLockSQL, want).Query(func(rows pgx.Rows) (err error) {
			got, err = pgx.CollectRows(rows, pgx.RowTo[int64])
			return err
		})
		b.Queue(claimLockedSQL, now, req.Limit, want).Query(func(rows pgx.Rows) (err error) {
			reread, err = collectCandidates(rows)
			return err
		})
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return nil, first, err
		}
		for _, id := range want {
			held[id] = true
		}
		for _, c := range reread {
			if slices.Contains(got, c.WebhookID) {
				locked = append(locked, c)
			}
		}
		if len(got) == len(want) {
			break
		}
		// Plan again without the webhooks other claims hold.
		skipped := map[int64]bool{}
		for _, id := range want {
			skipped[id] = true
		}
		for _, id := range got {
			delete(skipped, id)
		}
		candidates = slices.DeleteFunc(slices.Clone(candidates), func(c hookd.ClaimCandidate) bool { return skipped[c.WebhookID] })
	}
	return locked, first, nil
}

// collectCandidates reads the rows of claimCandidatesSQL or claimLockedSQL.
func collectCandidates(rows pgx.Rows) ([]hookd.ClaimCandidate, error) {
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (hookd.ClaimCandidate, error) {
		var (
			c            hookd.ClaimCandidate
			maxInFlight  *int
			maxPerSecond *float64
			circuit      string
		)
		err := row.Scan(&c.WebhookID, &maxInFlight, &maxPerSecond, &circuit, &c.Circuit.ProbeAt,
			&c.Failing, &c.ThrottleNextAt, &c.LastClaimedAt, &c.InFlight, &c.Due)
		if maxInFlight != nil {
			c.Settings.MaxInFlight = *maxInFlight
		}
		if maxPerSecond != nil {
			c.Settings.MaxPerSecond = *maxPerSecond
		}
		c.Circuit.State = hookd.CircuitState(circuit)
		return c, err
	})
}

// batcher runs batches: a claim's connection, in its transaction.
type batcher interface {
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// leaseAndCommit leases what grants take (claimLeaseSQL) to req.Worker,
// reads the targets' version (hookd.Claimed.TargetsVersion) and commits
// the claim's transaction, in one round trip. The version is read after
// the lease, so that a change committed before the deliveries were leased
// is one the dispatcher sees.
func leaseAndCommit(ctx context.Context, tx batcher, req hookd.ClaimRequest, now time.Time, grants []hookd.ClaimGrant) ([]*hookd.Delivery, int64, error) {
	deliveries := []*hookd.Delivery{}
	var version int64
	b := &pgx.Batch{}
	if len(grants) > 0 {
		b.Queue(claimLeaseSQL, leaseArgs(req, now, grants)...).Query(func(rows pgx.Rows) (err error) {
			deliveries, err = pgx.CollectRows(rows, scanLeased)
			return err
		})
		// By its key: with sequential scans off (queueLookupsSQL), a read of
		// the table whole was costed so high that PostgreSQL compiled it
		// (JIT), 70 ms a claim.
		b.Queue(`SELECT targets_version FROM subscriptions_version WHERE id = 1`).QueryRow(func(row pgx.Row) error {
			return row.Scan(&version)
		})
	}
	b.Queue("COMMIT")
	return deliveries, version, tx.SendBatch(ctx, b).Close()
}

// leaseArgs are claimLeaseSQL's arguments for grants.
func leaseArgs(req hookd.ClaimRequest, now time.Time, grants []hookd.ClaimGrant) []any {
	n := len(grants)
	ids, takes := make([]int64, n), make([]int32, n)
	throttles, probes := make([]*time.Time, n), make([]*time.Time, n)
	circuits := make([]string, n)
	probe, probeFrom, probeFromAt := make([]bool, n), make([]string, n), make([]*time.Time, n)
	for i, g := range grants {
		ids[i], takes[i], circuits[i] = g.WebhookID, int32(g.Take), string(g.Circuit.State)
		throttles[i], probes[i] = msPtr(g.ThrottleNextAt), msPtr(g.Circuit.ProbeAt)
		if g.ProbeFrom != nil {
			probe[i], probeFrom[i], probeFromAt[i] = true, string(g.ProbeFrom.State), g.ProbeFrom.ProbeAt
		}
	}
	return []any{ids, takes, throttles, circuits, probes, now, req.Worker,
		ms(now.Add(req.Lease)), probe, probeFrom, probeFromAt}
}

// scanLeased reads a row of claimLeaseSQL.
func scanLeased(row pgx.CollectableRow) (*hookd.Delivery, error) {
	var d hookd.Delivery
	var data []byte
	err := row.Scan(&d.ID, &d.WebhookID, &d.MessageID, &d.Attempts, &d.CreatedAt, &d.Ordered,
		&d.Event.ID, &d.Event.Event, &d.Event.ProjectID, &d.Event.UserID, &data, &d.Event.CreatedAt, &d.Event.TraceParent)
	d.Event.Data = json.RawMessage(data)
	return &d, err
}

// Targets returns what the sender needs for each of webhookIDs that
// exists.
func (s *Store) Targets(ctx context.Context, webhookIDs []int64) (map[int64]*hookd.Target, error) {
	out := make(map[int64]*hookd.Target, len(webhookIDs))
	if len(webhookIDs) == 0 {
		return out, nil
	}
	now := s.clock.Now()
	b := &pgx.Batch{}
	b.Queue(`
		SELECT id, http_url, http_method, disabled, signing_secret, previous_secret, previous_secret_expires_at
		FROM webhooks WHERE id = ANY($1)`, webhookIDs).
		Query(func(rows pgx.Rows) error {
			var t hookd.Target
			var cur string
			var prev *string
			var until *time.Time
			_, err := pgx.ForEachRow(rows, []any{&t.WebhookID, &t.URL, &t.Method, &t.Disabled, &cur, &prev, &until}, func() error {
				tt := t
				secrets := signingSecrets(cur, prev, until)
				tt.Secrets, tt.SecretsUntil = secrets.ValidAt(now), secrets.ChangeAt(now)
				tt.Headers = []hookd.Header{}
				out[t.WebhookID] = &tt
				return nil
			})
			return err
		})
	var headers []*hookd.Header
	b.Queue(`SELECT `+headerCols+` FROM webhook_headers WHERE webhook_id = ANY($1) ORDER BY id`, webhookIDs).
		Query(func(rows pgx.Rows) error {
			var err error
			headers, err = pgx.CollectRows(rows, scanHeader)
			return err
		})
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, wrapErr(err)
	}
	for _, h := range headers {
		if t := out[h.WebhookID]; t != nil {
			t.Headers = append(t.Headers, *h)
		}
	}
	return out, nil
}

// healthSQL locks, in id order, the webhooks of the deliveries that
// Complete is about to record, and reads their health (hookd.Health) and
// circuit (hookd.Circuit). The
// order makes concurrent Completes (and DeleteWebhook, which locks the
// webhook before its deliveries) take their locks in one order, so they
// cannot deadlock; the lock keeps the health read until it is written back.
// It is the first statement of Complete's batch, so the lock is taken
// before any delivery is settled. It looks each delivery up by its id, one
// primary key probe each (queueLookupsSQL): id = ANY($1) let the planner
// read a whole index of the queue whose later column is id.
const healthSQL = `
SELECT id, failing_since, last_success_at, last_run_at, last_run_success, last_run_status,
       last_run_duration_ns, last_run_event, disabled, ` + circuitColumns + `
FROM webhooks
WHERE id IN (SELECT (SELECT d.webhook_id FROM deliveries d WHERE d.id = x.id AND d.state = 'pending')
             FROM unnest($1::bigint[]) AS x(id))
ORDER BY id
FOR NO KEY UPDATE`

// settleSQL records one round of results (for distinct deliveries) in one
// statement: it settles the deliveries that are still pending and, when
// the result names its worker, still leased to that worker (a result for a
// vanished or finished delivery, or one whose lease expired and was taken
// over by another claim, is dropped) in the state the caller computed
// (AttemptResult.DeliveryState), logs an attempt for each, and returns the
// recorded attempts for the webhooks' health, with the lane of each
// delivery it finished (hookd.Ordering) and the id of each it retried.
const settleSQL = `
WITH r AS (
	SELECT * FROM unnest($1::bigint[], $2::int[], $3::timestamptz[], $4::bool[], $5::int[], $6::bigint[],
	                     $7::text[], $8::text[], $9::jsonb[], $10::text[], $11::timestamptz[], $12::bool[],
	                     $13::text[], $14::text[])
		WITH ORDINALITY AS r(delivery_id, attempt, at, success, http_status, duration_ns,
		                     error_class, error, request_headers, response_body, next_attempt_at, disable,
		                     worker, state, ord)
), d AS (
	UPDATE deliveries d SET
		attempts        = d.attempts + 1,
		last_attempt_at = r.at,
		leased_by       = NULL,
		lease_until     = NULL,
		state           = r.state,
		next_attempt_at = CASE WHEN r.state = 'pending' THEN r.next_attempt_at ELSE d.next_attempt_at END
	FROM r
	WHERE d.id = r.delivery_id AND d.state = 'pending' AND (r.worker = '' OR d.leased_by = r.worker)
	RETURNING d.id, d.webhook_id, d.event_id, d.message_id, d.attempts, d.lane
), per AS (
	SELECT d.id AS delivery_id, d.webhook_id, d.event_id, d.message_id, d.lane, e.event,
	       CASE WHEN r.attempt > 0 THEN r.attempt ELSE d.attempts END AS attempt,
	       r.at, r.success, r.http_status, r.duration_ns, r.error_class, r.error, r.request_headers,
	       r.response_body, r.next_attempt_at, r.disable, r.state, r.ord
	FROM d JOIN r ON r.delivery_id = d.id JOIN events e ON e.id = d.event_id
), logged AS (
	INSERT INTO attempts (delivery_id, webhook_id, event_id, event, message_id, attempt, success, http_status,
	                      duration_ns, error_class, error, request_headers, response_body, created_at, next_attempt_at)
	SELECT p.delivery_id, p.webhook_id, p.event_id, p.event, p.message_id, p.attempt, p.success, p.http_status,
	       p.duration_ns, p.error_class, p.error, p.request_headers, p.response_body, p.at,
	       CASE WHEN p.state = 'pending' THEN p.next_attempt_at END
	FROM per p
	ORDER BY p.ord
)
SELECT webhook_id, at, success, http_status, duration_ns, event, disable, error_class,
       CASE WHEN state <> 'pending' THEN lane END, CASE WHEN state = 'pending' THEN delivery_id END
FROM per ORDER BY ord`

// writeHealthSQL writes back the webhooks' health and circuits after
// Complete.
const writeHealthSQL = `
UPDATE webhooks w SET
	failing_since        = u.failing_since,
	last_success_at      = u.last_success_at,
	last_run_at          = u.run_at,
	last_run_success     = u.run_success,
	last_run_status      = u.run_status,
	last_run_duration_ns = u.run_duration,
	last_run_event       = u.run_event,
	disabled             = u.disabled,
	updated_at           = CASE WHEN u.parked THEN $11 ELSE w.updated_at END,
	circuit_state        = u.circuit_state,
	circuit_failures     = u.circuit_failures,
	circuit_opens        = u.circuit_opens,
	circuit_opened_at    = u.circuit_opened_at,
	circuit_probe_at     = u.circuit_probe_at,
	circuit_answered_at  = u.circuit_answered_at
FROM unnest($1::bigint[], $2::timestamptz[], $3::timestamptz[], $4::timestamptz[], $5::bool[], $6::int[],
            $7::bigint[], $8::text[], $9::bool[], $10::bool[],
            $12::text[], $13::int[], $14::int[], $15::timestamptz[], $16::timestamptz[], $17::timestamptz[])
	AS u(id, failing_since, last_success_at, run_at, run_success, run_status, run_duration, run_event, disabled, parked,
	     circuit_state, circuit_failures, circuit_opens, circuit_opened_at, circuit_probe_at, circuit_answered_at)
WHERE w.id = u.id`

// Complete records results in one transaction of three round trips: the
// transaction's begin, the lock and read of the webhooks' health and the
// settling of the results in one batch; the health written back; the
// commit. Each result settles its delivery and is logged (an Attempt of 0
// is numbered after the delivery's previous attempts); each webhook's
// attempts are recorded in its health with hookd.Health.RecordAll and in
// its circuit with hookd.Circuit.RecordAll (the circuits opened or closed
// are told to the circuit observer after the commit). A result
// for a delivery that no longer exists (its webhook was deleted), is no
// longer pending, or whose lease its Worker no longer holds (it expired and
// another claim took the delivery over) is dropped: no log entry, no
// attempt counted. A webhook that a 410 disabled has its deliveries parked,
// one disabled already its deliveries retried (hookd.ParkedUntil).
func (s *Store) Complete(ctx context.Context, results []hookd.AttemptResult) error {
	_, err := s.CompleteDisabling(ctx, results)
	return err
}

var _ hookd.DisablingCompleter = (*Store)(nil)

// CompleteDisabling is Complete, and returns the webhooks it disabled
// (hookd.DisablingCompleter). They are those whose health, read under the
// webhook's lock, was enabled: of concurrent Completes, the one that
// disabled a webhook returns it.
func (s *Store) CompleteDisabling(ctx context.Context, results []hookd.AttemptResult) ([]int64, error) {
	if len(results) == 0 {
		return nil, nil
	}
	// Results for the same delivery go into separate rounds, in order, so
	// that each UPDATE sees a delivery once.
	var rounds [][]hookd.AttemptResult
	seen := make(map[int64]int)
	all := make([]int64, 0, len(results))
	for _, r := range results {
		k := seen[r.DeliveryID]
		seen[r.DeliveryID] = k + 1
		if k == 0 {
			all = append(all, r.DeliveryID)
		}
		if k == len(rounds) {
			rounds = append(rounds, nil)
		}
		rounds[k] = append(rounds[k], r)
	}
	now := s.clock.Now()

	b := &pgx.Batch{}
	b.BeginTx(pgx.TxOptions{})
	b.Queue(queueLookupsSQL)
	// pgx runs the callbacks in the order of the statements: the health
	// is read before the settled attempts come back.
	health := map[int64]hookd.Health{}
	circuits := map[int64]hookd.Circuit{}
	var order []int64
	b.Queue(healthSQL, all).Query(func(rows pgx.Rows) error {
		var id int64
		var h hookd.Health
		var run storedRun
		var circuit storedCircuit
		_, err := pgx.ForEachRow(rows, append([]any{&id, &h.FailingSince, &h.LastSuccessAt, &run.at, &run.success,
			&run.status, &run.duration, &run.event, &h.Disabled}, circuit.dest()...), func() error {
			hh := h
			hh.LatestRun = run.run()
			health[id] = hh
			circuits[id] = circuit.circuit()
			order = append(order, id)
			return nil
		})
		return err
	})
	runs := map[int64][]hookd.RecordedRun{}
	finished := lanes{}
	var retried map[int64][]int64 // by webhook, for writeHealth
	for _, round := range rounds {
		n := len(round)
		var (
			ids      = make([]int64, n)
			attempt  = make([]int32, n)
			at       = make([]time.Time, n)
			success  = make([]bool, n)
			status   = make([]int32, n)
			duration = make([]int64, n)
			class    = make([]string, n)
			errText  = make([]string, n)
			headers  = make([]string, n)
			body     = make([]string, n)
			next     = make([]*time.Time, n)
			disable  = make([]bool, n)
			worker   = make([]string, n)
			state    = make([]string, n)
		)
		for i, r := range round {
			st := r.DeliveryState()
			ids[i], attempt[i], at[i], success[i] = r.DeliveryID, int32(r.Attempt), hookd.Stamp(r.At, now), r.Success
			status[i], duration[i], class[i], errText[i] = int32(r.HTTPStatus), int64(r.Duration), hookd.LoggableText(r.ErrorClass), hookd.LoggableText(r.Error)
			body[i], disable[i] = hookd.LoggableText(r.ResponseBody), r.DisableWebhook
			worker[i], state[i] = r.Worker, string(st)
			headers[i] = headersJSON(r.RequestHeaders)
			if st == hookd.StatePending {
				next[i] = msPtr(r.NextAttemptAt)
			}
		}
		b.Queue(settleSQL, ids, attempt, at, success, status, duration,
			class, errText, headers, body, next, disable, worker, state).
			Query(func(rows pgx.Rows) error {
				var webhookID int64
				var r hookd.RecordedRun
				var dur int64
				var lane, retry *int64
				_, err := pgx.ForEachRow(rows, []any{&webhookID, &r.Run.At, &r.Run.Success, &r.Run.HTTPStatus, &dur, &r.Run.Event, &r.Disable, &r.ErrorClass, &lane, &retry}, func() error {
					r.Run.Duration = time.Duration(dur)
					runs[webhookID] = append(runs[webhookID], r)
					finished.add(webhookID, lane)
					if retry != nil {
						if retried == nil {
							retried = map[int64][]int64{}
						}
						retried[webhookID] = append(retried[webhookID], *retry)
					}
					return nil
				})
				return err
			})
	}

	br := s.pool.SendBatch(ctx, b)
	tx := br.Tx()
	defer tx.Rollback(ctx) // after a failure; once committed it does nothing
	err := br.Close()
	var (
		changes  []hookd.CircuitChange
		disabled []int64
	)
	if err == nil && len(finished) > 0 {
		// Only deliveries of ordered lanes cost this round trip. Their
		// webhooks are locked already (healthSQL), more strongly than
		// queueLock would.
		pb := &pgx.Batch{}
		finished.queueLaneLocks(pb)
		finished.queuePromote(pb, now, nil)
		err = tx.SendBatch(ctx, pb).Close()
	}
	if err == nil {
		changes, disabled, err = s.writeHealth(ctx, tx, order, health, circuits, runs, retried, now)
	}
	if err == nil {
		err = tx.Commit(ctx)
	}
	if err != nil {
		return nil, wrapErr(err)
	}
	// The attempts recorded free their webhooks' shares (and a retry may be
	// due now): a claim may take more.
	s.wakeup()
	if s.observeCircuit != nil {
		for _, c := range changes {
			s.observeCircuit(c)
		}
	}
	return disabled, nil
}

// storedRun scans a webhook's stored latest run.
type storedRun struct {
	at       *time.Time
	success  *bool
	status   *int
	duration *int64
	event    *string
}

func (r storedRun) run() *hookd.Run {
	if r.at == nil {
		return nil
	}
	run := &hookd.Run{At: *r.at}
	if r.success != nil {
		run.Success = *r.success
	}
	if r.status != nil {
		run.HTTPStatus = *r.status
	}
	if r.duration != nil {
		run.Duration = time.Duration(*r.duration)
	}
	if r.event != nil {
		run.Event = *r.event
	}
	return run
}

// writeHealth records runs in the health and circuit of the webhooks ids
// (hookd.Health.RecordAll, hookd.Circuit.RecordAll with s's policy),
// writes them back for those that attempts were recorded for, and parks the
// deliveries of those it disabled, and the deliveries retried of those
// disabled already (hookd.ParkedUntil). It returns the circuits it opened
// or closed, and the webhooks it disabled.
func (s *Store) writeHealth(ctx context.Context, tx pgx.Tx, ids []int64, health map[int64]hookd.Health,
	circuits map[int64]hookd.Circuit, runs map[int64][]hookd.RecordedRun, retried map[int64][]int64,
	now time.Time) ([]hookd.CircuitChange, []int64, error) {
	var (
		changes                                 []hookd.CircuitChange
		circuitState                            []string
		circuitFailures, circuitOpens           []int32
		circuitOpened, circuitProbe, answeredAt []*time.Time
	)
	var (
		hookIDs                      []int64
		failing, success, runAt      []*time.Time
		runSuccess, disabled, parked []bool
		runStatus                    []int32
		runDuration                  []int64
		runEvent                     []string
		park, parkRetried            []int64
	)
	for _, id := range ids {
		if len(runs[id]) == 0 {
			continue // no attempt recorded: nothing changed
		}
		was := health[id]
		h := was.RecordAll(runs[id])
		change := hookd.ChangeDisabled(was.Disabled, h.Disabled)
		l := h.LatestRun
		at := l.At
		hookIDs = append(hookIDs, id)
		failing, success, runAt = append(failing, h.FailingSince), append(success, h.LastSuccessAt), append(runAt, &at)
		runSuccess, runStatus, runDuration, runEvent = append(runSuccess, l.Success), append(runStatus, int32(l.HTTPStatus)),
			append(runDuration, int64(l.Duration)), append(runEvent, l.Event)
		disabled, parked = append(disabled, h.Disabled), append(parked, change.Park)
		if change.Park {
			park = append(park, id)
		}
		if was.Disabled {
			parkRetried = append(parkRetried, retried[id]...)
		}
		c := circuits[id].RecordAll(s.circuit, runs[id], now)
		if change, ok := hookd.CircuitChanged(id, circuits[id], c); ok {
			changes = append(changes, change)
		}
		circuitState, circuitFailures, circuitOpens = append(circuitState, string(c.State)),
			append(circuitFailures, int32(c.Failures)), append(circuitOpens, int32(c.Opens))
		circuitOpened, circuitProbe, answeredAt = append(circuitOpened, c.OpenedAt), append(circuitProbe, c.ProbeAt),
			append(answeredAt, c.AnsweredAt)
	}
	if len(hookIDs) == 0 {
		return nil, nil, nil
	}
	b := &pgx.Batch{}
	b.Queue(writeHealthSQL, hookIDs, failing, success, runAt, runSuccess, runStatus, runDuration, runEvent, disabled, parked, now,
		circuitState, circuitFailures, circuitOpens, circuitOpened, circuitProbe, answeredAt)
	queueDisabledChange(b, park, hookd.ChangeDisabled(false, true), now)
	if len(parkRetried) > 0 {
		b.Queue(`UPDATE deliveries d SET next_attempt_at = $2
			FROM unnest($1::bigint[]) AS r(id)
			WHERE d.id = r.id AND d.state = 'pending' AND d.leased_by IS NULL`, parkRetried, hookd.ParkedUntil)
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, nil, err
	}
	return changes, park, nil
}

// queueDisabledChange queues the parking or unparking of the pending
// deliveries of webhooks ids not in flight at now (no lease, or one that
// has ended), as change says (hookd.ChangeDisabled), into the transaction
// that changed their Disabled; those blocked in an ordered lane stay
// blocked.
func queueDisabledChange(b *pgx.Batch, ids []int64, change hookd.DisabledChange, now time.Time) {
	if len(ids) == 0 {
		return
	}
	switch {
	case change.Park:
		b.Queue(`UPDATE deliveries SET next_attempt_at = $2
			WHERE webhook_id = ANY($1) AND state = 'pending' AND (leased_by IS NULL OR lease_until <= $4)
			  AND next_attempt_at <> $3`,
			ids, hookd.ParkedUntil, hookd.LaneBlocked, now)
	case change.Unpark:
		b.Queue(`UPDATE deliveries SET next_attempt_at = $2
			WHERE webhook_id = ANY($1) AND state = 'pending' AND (leased_by IS NULL OR lease_until <= $2)
			  AND next_attempt_at > $2 AND next_attempt_at <> $3`, ids, now, hookd.LaneBlocked)
	}
}

// headersJSON encodes an attempt's request headers for jsonb, which takes
// no NUL character: those become U+FFFD, like invalid UTF-8.
func headersJSON(h map[string]string) string {
	for k, v := range h {
		if strings.IndexByte(k, 0) >= 0 || strings.IndexByte(v, 0) >= 0 {
			c := make(map[string]string, len(h))
			for k, v := range h {
				c[hookd.LoggableText(k)] = hookd.LoggableText(v)
			}
			h = c
			break
		}
	}
	return string(hookd.AppendHeadersJSON(make([]byte, 0, 256), h))
}

// Log lists webhook webhookID's successful or failed attempts, newest
// first; page is 1-based. An unknown webhook is ErrNotFound, so the API can
// answer 404 rather than an empty log. It reads from the log replica when
// the store has one (storeopt.WithLogReplica): a page may then lag the
// primary by the replica's delay.
func (s *Store) Log(ctx context.Context, webhookID int64, success bool, page, perPage int) ([]*hookd.LogEntry, error) {
	limit, offset := hookd.Page(page, perPage)
	rows, _ := s.logPool.Query(ctx, `SELECT `+attemptCols+` FROM attempts
		WHERE webhook_id = $1 AND success = $2
		ORDER BY created_at DESC, id DESC
		LIMIT $3 OFFSET $4`, webhookID, success, limit, offset)
	entries, err := pgx.CollectRows(rows, scanLogEntry)
	if err != nil {
		return nil, wrapErr(err)
	}
	if len(entries) == 0 {
		if err := checkWebhook(ctx, s.logPool, webhookID); err != nil {
			return nil, err
		}
	}
	return entries, nil
}

// attemptCols are the columns of an attempt that scanLogEntry reads.
const attemptCols = `id, delivery_id, webhook_id, event_id, event, message_id, attempt, success, http_status,
	duration_ns, error_class, error, request_headers, response_body, created_at, next_attempt_at`

func scanLogEntry(row pgx.CollectableRow) (*hookd.LogEntry, error) {
	var e hookd.LogEntry
	var dur int64
	err := row.Scan(&e.ID, &e.DeliveryID, &e.WebhookID, &e.EventID, &e.Event, &e.MessageID, &e.Attempt, &e.Success,
		&e.HTTPStatus, &dur, &e.ErrorClass, &e.Error, &e.RequestHeaders, &e.ResponseBody, &e.CreatedAt, &e.NextAttemptAt)
	e.Duration = time.Duration(dur)
	return &e, err
}

func (s *Store) checkWebhook(ctx context.Context, id int64) error {
	return checkWebhook(ctx, s.pool, id)
}

// checkWebhook answers ErrNotFound when webhook id does not exist in the
// database pool reaches.
func checkWebhook(ctx context.Context, pool *pgxpool.Pool, id int64) error {
	var ok bool
	if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM webhooks WHERE id = $1)`, id).Scan(&ok); err != nil {
		return wrapErr(err)
	}
	if !ok {
		return fmt.Errorf("webhook %d: %w", id, hookd.ErrNotFound)
	}
	return nil
}

// Requeue makes webhook webhookID's deliveries that failed for good, with
// a last attempt in [from, to), pending and due at now, or parked while the
// webhook is disabled (hookd.ParkedUntil). Their attempt
// count is kept. Those of an ordered lane go back into their lane,
// blocked: due when their turn comes, by id.
func (s *Store) Requeue(ctx context.Context, webhookID int64, from, to time.Time) (int, error) {
	return s.requeue(ctx, webhookID, from, to)
}

// requeue is Requeue for webhookID, or for every webhook when it is 0.
func (s *Store) requeue(ctx context.Context, webhookID int64, from, to time.Time) (int, error) {
	now := s.clock.Now()
	var n int
	// The webhooks are locked first, FOR SHARE, in id order (the order of
	// ordering.go): a disabling waits for the requeue, or the requeue for
	// it, so that the disabled it reads stands until it commits. Only
	// their deliveries are requeued (each webhook's own index,
	// deliveries_webhook_failed): one that failed meanwhile, of another
	// webhook, waits for the next requeue.
	lock, lockArgs := `SELECT id FROM webhooks WHERE id IN (SELECT webhook_id FROM deliveries
		WHERE state = 'failed' AND last_attempt_at >= $1 AND last_attempt_at < $2) ORDER BY id FOR SHARE`, []any{ms(from), ms(to)}
	if webhookID != 0 {
		lock, lockArgs = `SELECT id FROM webhooks WHERE id = $1 FOR SHARE`, []any{webhookID}
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, lock, lockArgs...)
		hooks, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil || len(hooks) == 0 {
			return err
		}
		if _, err := lockLanesOf(ctx, tx, `SELECT DISTINCT webhook_id, lane FROM deliveries
			WHERE webhook_id = ANY($3) AND state = 'failed' AND last_attempt_at >= $1 AND last_attempt_at < $2 AND lane IS NOT NULL`,
			ms(from), ms(to), hooks); err != nil {
			return err
		}
		requeued, requeuedRows, err := lanesOf(ctx, tx, `
			UPDATE deliveries SET state = 'pending', leased_by = NULL, lease_until = NULL,
			    next_attempt_at = CASE WHEN lane IS NOT NULL THEN $4::timestamptz
			        WHEN (SELECT w.disabled FROM webhooks w WHERE w.id = deliveries.webhook_id) THEN $5::timestamptz
			        ELSE $3::timestamptz END
			WHERE webhook_id = ANY($6) AND state = 'failed' AND last_attempt_at >= $1 AND last_attempt_at < $2
			  AND EXISTS (SELECT 1 FROM events e WHERE e.id = event_id AND e.erased_at IS NULL
			    AND NOT (e.data::text = '{}' AND e.created_at < coalesce((SELECT cleared_before FROM payloads_cleared WHERE table_name = 'events'), '-infinity')))
			RETURNING webhook_id, lane`, ms(from), ms(to), ms(now), hookd.LaneBlocked, hookd.ParkedUntil, hooks)
		if err != nil {
			return err
		}
		n = requeuedRows
		if n == 0 {
			return nil
		}
		b := &pgx.Batch{}
		if len(requeued) > 0 {
			requeued.queueLaneLocks(b) // their webhooks are locked
			requeued.queuePromote(b, now, nil)
		}
		b.Queue(`SELECT pg_notify('` + NotifyChannel + `', '')`)
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return 0, wrapErr(err)
	}
	if n == 0 {
		if webhookID == 0 {
			return 0, nil
		}
		return 0, s.checkWebhook(ctx, webhookID)
	}
	s.wakeup()
	return n, nil
}

// DisableFailing disables the enabled webhooks that have been failing since
// before (hookd.Health.FailingBefore), parks their deliveries, and returns
// their ids in order.
func (s *Store) DisableFailing(ctx context.Context, before time.Time) ([]int64, error) {
	ids := []int64{}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// The WHERE only keeps the rows to lock few; FailingBefore decides.
		rows, _ := tx.Query(ctx, `SELECT id, failing_since FROM webhooks
			WHERE NOT disabled AND failing_since <= $1 ORDER BY id FOR NO KEY UPDATE`, before)
		var id int64
		var failing *time.Time
		if _, err := pgx.ForEachRow(rows, []any{&id, &failing}, func() error {
			if (hookd.Health{FailingSince: failing}).FailingBefore(before) {
				ids = append(ids, id)
			}
			return nil
		}); err != nil || len(ids) == 0 {
			return err
		}
		now := s.clock.Now()
		b := &pgx.Batch{}
		b.Queue(`UPDATE webhooks SET disabled = true, updated_at = $2 WHERE id = ANY($1)`, ids, now)
		queueDisabledChange(b, ids, hookd.ChangeDisabled(false, true), now)
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return nil, wrapErr(err)
	}
	return ids, nil
}
