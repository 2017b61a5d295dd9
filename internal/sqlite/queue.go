package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/hookd/hookd"
)

// The hot path's statements, prepared once (Store.prepared).
const (
	// claimServedSQL writes when a claim at ?1 served the webhooks of a
	// JSON array of [id, throttle_next_at] (hookd.ClaimGrant), and
	// claimProbesSQL the circuits of those whose probe it took, a JSON
	// array of [id, circuit_state, circuit_probe_at]: one statement each
	// however many webhooks a claim serves. The claim's transaction holds
	// the one writer, so the circuits are still those it read
	// (ClaimGrant.ProbeFrom).
	claimServedSQL = `INSERT INTO webhook_claims (webhook_id, last_claimed_at, throttle_next_at)
		SELECT g.value ->> 0, ?1, g.value ->> 1 FROM json_each(?2) g WHERE true
		ON CONFLICT (webhook_id) DO UPDATE SET last_claimed_at = excluded.last_claimed_at,
		                                       throttle_next_at = excluded.throttle_next_at`
	claimProbesSQL = `UPDATE webhooks SET circuit_state = g.value ->> 1, circuit_probe_at = g.value ->> 2
		FROM json_each(?1) g WHERE webhooks.id = g.value ->> 0`
	claimEventsSQL = `SELECT ` + eventColumns + ` FROM events WHERE id IN (SELECT value FROM json_each(?))`

	// healthSQL reads what Complete records about a webhook
	// (hookd.Health and hookd.Circuit), writeHealthSQL writes it back.
	healthSQL = `SELECT failing_since, last_success_at, last_run_at, last_run_success, last_run_status,
		last_run_duration_ns, last_run_event, disabled, ` + circuitColumns + ` FROM webhooks WHERE id = ?`
	writeHealthSQL = `UPDATE webhooks SET failing_since = ?1, last_success_at = ?2, last_run_at = ?3,
		last_run_success = ?4, last_run_status = ?5, last_run_duration_ns = ?6, last_run_event = ?7,
		disabled = ?8, updated_at = CASE WHEN ?9 THEN ?10 ELSE updated_at END,
		circuit_state = ?12, circuit_failures = ?13, circuit_opens = ?14, circuit_opened_at = ?15,
		circuit_probe_at = ?16, circuit_answered_at = ?17
		WHERE id = ?11`
)

// settleStatement finishes, reschedules or fails the deliveries of rows
// (id, state, next_attempt_at, at, worker) that are still pending and
// leased to worker (any lease when it is empty), and returns what their log
// entries need; no row for a stale result. One statement for a whole
// batch: a statement a row cost about as much as the rest of recording.
var settleStatement = newValuesStatement(`UPDATE deliveries
	SET state = r.column2, attempts = attempts + 1, next_attempt_at = r.column3,
	    leased_by = NULL, lease_until = NULL, last_attempt_at = r.column4
	FROM (VALUES `, "(?, ?, ?, ?, ?)", `) r
	WHERE deliveries.id = r.column1 AND deliveries.state = 'pending'
	  AND (r.column5 = '' OR deliveries.leased_by = r.column5)
	RETURNING deliveries.id, webhook_id, event_id, message_id, attempts, lane`, completeRows)

// logAttemptStatement logs the attempts of rows (delivery_id, webhook_id,
// event_id, message_id, attempt, success, http_status, duration_ns,
// error_class, error, request_headers, response_body, next_attempt_at,
// created_at), each with its event's name, and returns the names. CROSS
// JOIN keeps the rows the outer loop: one lookup of events a row.
var logAttemptStatement = newValuesStatement(`INSERT INTO attempts
	(delivery_id, webhook_id, event_id, event, message_id, attempt, success, http_status, duration_ns,
	 error_class, error, request_headers, response_body, next_attempt_at, created_at)
	SELECT a.column1, a.column2, a.column3, e.event, a.column4, a.column5, a.column6, a.column7,
	       a.column8, a.column9, a.column10, a.column11, a.column12, a.column13, a.column14
	FROM (VALUES `, "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", `) a CROSS JOIN events e ON e.id = a.column3
	RETURNING delivery_id, event`, completeRows)

// completeRows is the most results settled or logged in one statement
// (14 parameters a row, within SQLite's 32,766).
const completeRows = 64

// targetsSQL reads what the sender needs of the webhooks in a JSON array
// of ids.
const targetsSQL = `SELECT id, http_url, http_method, disabled, signing_secret, previous_secret, previous_secret_expires_at
	FROM webhooks WHERE id IN (SELECT value FROM json_each(?))`

// claimCandidatesSQL[k] finds the enabled webhooks with due deliveries
// (hookd.ClaimCandidate): a skip scan of deliveries_webhook_due, one
// descent per webhook with pending deliveries, then two probes each: its
// leases not expired at ?1 (deliveries_webhook_leased) and its due
// deliveries counted up to 1<<k, one more than the claim's limit rounded up
// to a power of two (written into the statement: see claimLeaseSQL).
// candidateColumns read webhook w as a claim at ?1 finds it
// (hookd.ClaimCandidate), but for its due deliveries, which
// claimCandidatesSQL counts and handoffCandidatesSQL only looks for: its
// settings, circuit, health, throttle, when it was last served
// (webhook_claims wc) and its leases not expired (deliveries_webhook_leased).
const candidateColumns = `w.id, w.max_in_flight, w.max_per_second, w.circuit_state, w.circuit_probe_at,
	w.failing_since IS NOT NULL, wc.throttle_next_at, wc.last_claimed_at,
	(SELECT count(*) FROM deliveries d
	 WHERE d.webhook_id = w.id AND d.state = 'pending' AND d.leased_by IS NOT NULL AND d.lease_until > ?1)`

var claimCandidatesSQL = sizedVariants(11, func(limit int) string {
	return fmt.Sprintf(`WITH RECURSIVE pending(webhook_id) AS (
		SELECT min(webhook_id) FROM deliveries INDEXED BY deliveries_webhook_due WHERE state = 'pending'
		UNION ALL
		SELECT (SELECT min(d.webhook_id) FROM deliveries d INDEXED BY deliveries_webhook_due
		        WHERE d.state = 'pending' AND d.webhook_id > p.webhook_id)
		FROM pending p WHERE p.webhook_id IS NOT NULL
	), candidates AS MATERIALIZED (
		SELECT `+candidateColumns+` AS in_flight,
		       (SELECT count(*) FROM (SELECT 1 FROM deliveries d
		        WHERE d.webhook_id = w.id AND d.state = 'pending' AND d.next_attempt_at <= ?1 LIMIT %d)) AS due
		FROM pending p JOIN webhooks w ON w.id = p.webhook_id LEFT JOIN webhook_claims wc ON wc.webhook_id = w.id
		WHERE NOT w.disabled)
	SELECT * FROM candidates WHERE due > 0`, limit)
}, func(k int) int { return 1 << k })

// claimLeaseSQL leases, at ?4, the oldest due deliveries of each webhook
// in ?3, a JSON array of [webhook id, how many]: one statement however
// many webhooks a claim serves. It walks deliveries_webhook_due one step a
// delivery, to the next due after the one before in (next_attempt_at, id)
// order: the next id at the same time, else the first at a later time (two
// seeks; SQLite does not seek on a row value such as (next_attempt_at, id)
// > (?, ?), and a batch of events shares a time). A LIMIT could not vary by
// webhook, nor be bound without SQLite preparing the statement again at
// each claim (its planner uses a bound LIMIT's value).
const claimLeaseSQL = `WITH RECURSIVE
	grants(webhook_id, take) AS (SELECT value ->> 0, value ->> 1 FROM json_each(?3)),
	picked(webhook_id, take, n, at, id) AS (
		SELECT webhook_id, take, 0, -1, -1 FROM grants
		UNION ALL
		SELECT p.webhook_id, p.take, p.n + 1, d.next_attempt_at, d.id
		FROM picked p JOIN deliveries d ON d.id = coalesce(
			(SELECT same.id FROM deliveries same INDEXED BY deliveries_webhook_due
			 WHERE same.webhook_id = p.webhook_id AND same.state = 'pending' AND same.next_attempt_at = p.at
			   AND same.id > p.id
			 ORDER BY same.id LIMIT 1),
			(SELECT later.id FROM deliveries later INDEXED BY deliveries_webhook_due
			 WHERE later.webhook_id = p.webhook_id AND later.state = 'pending' AND later.next_attempt_at > p.at
			   AND later.next_attempt_at <= ?4
			 ORDER BY later.next_attempt_at, later.id LIMIT 1))
		WHERE p.n < p.take)
	UPDATE deliveries SET leased_by = ?1, lease_until = ?2, next_attempt_at = ?2
	WHERE id IN (SELECT id FROM picked WHERE n > 0)
	RETURNING id, webhook_id, event_id, message_id, attempts, created_at, lane IS NOT NULL`

// sizedVariants returns n statements, the i-th of query(sizeOf(i)): one
// prepared statement for each size of a LIMIT or a VALUES list.
func sizedVariants(n int, query func(size int) string, sizeOf func(i int) int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = query(sizeOf(i))
	}
	return out
}

// candidatesFor returns the statement of claimCandidatesSQL that counts up
// to limit or more.
func candidatesFor(limit int) string {
	k := 0
	for k < len(claimCandidatesSQL)-1 && 1<<k < limit {
		k++
	}
	return claimCandidatesSQL[k]
}

// hotQueries are prepared once on the writer's connection, readQueries on
// the read pool (each of its connections prepares them on first use).
var (
	hotQueries = slices.Concat([]string{claimServedSQL, claimProbesSQL, claimEventsSQL, healthSQL, writeHealthSQL,
		claimLeaseSQL, promoteLanesSQL, subscriptionsVersionSQL, handoffCandidatesSQL, targetsVersionSQL}, claimCandidatesSQL, eventsInsert.sized,
		deliveriesInsert.sized, leasedDeliveriesInsert.sized, settleStatement.sized, logAttemptStatement.sized)
	readQueries = []string{targetsSQL, headersSQL}
)

// Claim leases due deliveries to req.Worker, as hookd.PlanClaim shares
// them out among the webhooks, with their events, in one transaction (the
// write lock serialises claims of every process, so the shares and
// throttles it reads stay exact until it commits). Its cost: one index
// descent per webhook with pending deliveries (however long their queues:
// a disabled webhook's parked deliveries and a webhook's backlog are
// skipped over), two probes per webhook with due deliveries, then one
// UPDATE of the deliveries (claimLeaseSQL: two seeks a delivery leased)
// and one of the webhooks served, and a read of the events. The lease is
// written to next_attempt_at as well: a delivery whose worker
// died is due again when its lease ends.
func (s *Store) Claim(ctx context.Context, req hookd.ClaimRequest) (hookd.Claimed, error) {
	out := []*hookd.Delivery{}
	if req.Limit <= 0 {
		return hookd.Claimed{Deliveries: out}, nil
	}
	now := s.clock.Now()
	until := ms(now.Add(req.Lease))
	var plan hookd.ClaimPlan
	var version int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		out = out[:0]
		candidates, err := s.claimCandidates(ctx, tx, now, req.Limit)
		if err != nil {
			return err
		}
		plan = hookd.PlanClaim(now, req, candidates)
		if len(plan.Grants) == 0 {
			return nil
		}
		if version, err = s.targetsVersion(ctx, tx); err != nil {
			return err
		}
		takes := make([][2]int64, len(plan.Grants))
		for i, g := range plan.Grants {
			takes[i] = [2]int64{g.WebhookID, int64(g.Take)}
		}
		takesJSON, err := json.Marshal(takes)
		if err != nil {
			return err
		}
		lease, err := s.prepared(ctx, tx, claimLeaseSQL)
		if err != nil {
			return err
		}
		rows, err := lease.QueryContext(ctx, req.Worker, until, string(takesJSON), ms(now))
		if err != nil {
			return err
		}
		var eventIDs []string
		for rows.Next() {
			var (
				d       hookd.Delivery
				created int64
			)
			if err := rows.Scan(&d.ID, &d.WebhookID, &d.Event.ID, &d.MessageID, &d.Attempts, &created, &d.Ordered); err != nil {
				rows.Close()
				return err
			}
			d.CreatedAt = fromMS(created)
			out = append(out, &d)
			eventIDs = append(eventIDs, d.Event.ID)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := s.serve(ctx, tx, now, plan.Grants); err != nil {
			return err
		}

		// RETURNING cannot join, so the events come in a second query of
		// the same transaction.
		ids, err := json.Marshal(eventIDs)
		if err != nil {
			return err
		}
		claimEvents, err := s.prepared(ctx, tx, claimEventsSQL)
		if err != nil {
			return err
		}
		evs, err := claimEvents.QueryContext(ctx, string(ids))
		if err != nil {
			return err
		}
		defer evs.Close()
		byID := map[string]*hookd.Event{}
		for evs.Next() {
			e, err := scanEvent(evs)
			if err != nil {
				return err
			}
			byID[e.ID] = e
		}
		if err := evs.Err(); err != nil {
			return err
		}
		for _, d := range out {
			if e := byID[d.Event.ID]; e != nil {
				d.Event = *e
			}
		}
		return nil
	})
	if err != nil {
		return hookd.Claimed{}, err
	}
	if !plan.WakeAt.IsZero() {
		s.alarm.Set(plan.WakeAt.Sub(now), s.notify)
	}
	slices.SortFunc(out, func(a, b *hookd.Delivery) int { return cmp.Compare(a.ID, b.ID) })
	return hookd.Claimed{Deliveries: out, HeldShare: plan.HeldShare, HeldBack: plan.HeldBack, TargetsVersion: version}, nil
}

// targetsVersionSQL reads hookd.Claimed.TargetsVersion (migration 0027).
const targetsVersionSQL = `SELECT targets_version FROM subscriptions_version`

// targetsVersion reads hookd.Claimed.TargetsVersion in tx.
func (s *Store) targetsVersion(ctx context.Context, tx *sql.Tx) (int64, error) {
	st, err := s.prepared(ctx, tx, targetsVersionSQL)
	if err != nil {
		return 0, err
	}
	var v int64
	err = st.QueryRowContext(ctx).Scan(&v)
	return v, err
}

// claimCandidates reads the webhooks with deliveries due at now
// (claimCandidatesSQL), their due deliveries counted up to one more than
// limit.
func (s *Store) claimCandidates(ctx context.Context, tx *sql.Tx, now time.Time, limit int) ([]hookd.ClaimCandidate, error) {
	st, err := s.prepared(ctx, tx, candidatesFor(limit+1))
	if err != nil {
		return nil, err
	}
	rows, err := st.QueryContext(ctx, ms(now))
	if err != nil {
		return nil, err
	}
	return scanCandidates(rows)
}

// scanCandidates reads the rows of claimCandidatesSQL or
// handoffCandidatesSQL.
func scanCandidates(rows *sql.Rows) ([]hookd.ClaimCandidate, error) {
	defer rows.Close()
	var out []hookd.ClaimCandidate
	for rows.Next() {
		var (
			c                            hookd.ClaimCandidate
			maxInFlight                  sql.NullInt64
			maxPerSecond                 sql.NullFloat64
			circuit                      string
			probe, throttle, lastClaimed sql.NullInt64
		)
		if err := rows.Scan(&c.WebhookID, &maxInFlight, &maxPerSecond, &circuit, &probe, &c.Failing,
			&throttle, &lastClaimed, &c.InFlight, &c.Due); err != nil {
			return nil, err
		}
		c.Settings = hookd.WebhookSettings{MaxInFlight: int(maxInFlight.Int64), MaxPerSecond: maxPerSecond.Float64}
		c.Circuit = hookd.Circuit{State: hookd.CircuitState(circuit), ProbeAt: timePtr(probe)}
		c.ThrottleNextAt, c.LastClaimedAt = timePtr(throttle), timePtr(lastClaimed)
		out = append(out, c)
	}
	return out, rows.Err()
}

// serve writes what a claim's (or a handoff's) grants change of their
// webhooks: when they were served, their throttles, the probes taken.
func (s *Store) serve(ctx context.Context, tx *sql.Tx, now time.Time, grants []hookd.ClaimGrant) error {
	if len(grants) == 0 {
		return nil
	}
	served := make([][2]any, len(grants))
	var probes [][3]any
	for i, g := range grants {
		served[i] = [2]any{g.WebhookID, jsonMS(g.ThrottleNextAt)}
		if g.ProbeFrom != nil {
			probes = append(probes, [3]any{g.WebhookID, g.Circuit.State, jsonMS(g.Circuit.ProbeAt)})
		}
	}
	if err := s.execJSON(ctx, tx, claimServedSQL, ms(now), served); err != nil {
		return err
	}
	if len(probes) > 0 {
		return s.execJSON(ctx, tx, claimProbesSQL, probes)
	}
	return nil
}

// execJSON runs a prepared statement of the hot path whose last argument
// is a JSON array (the rows a statement writes at once).
func (s *Store) execJSON(ctx context.Context, tx *sql.Tx, query string, args ...any) error {
	rows, err := json.Marshal(args[len(args)-1])
	if err != nil {
		return err
	}
	st, err := s.prepared(ctx, tx, query)
	if err != nil {
		return err
	}
	_, err = st.ExecContext(ctx, append(args[:len(args)-1:len(args)-1], string(rows))...)
	return err
}

// Targets returns what the sender needs for each webhook in webhookIDs that
// exists: URL, method, every header with its value (hidden ones too: they
// are sent), and the secrets that sign at now.
func (s *Store) Targets(ctx context.Context, webhookIDs []int64) (map[int64]*hookd.Target, error) {
	out := map[int64]*hookd.Target{}
	if len(webhookIDs) == 0 {
		return out, nil
	}
	now := s.clock.Now()
	ids := int64s(webhookIDs)
	err := s.inReadTx(ctx, func(tx *sql.Tx) error {
		hooks, err := s.prepared(ctx, tx, targetsSQL)
		if err != nil {
			return err
		}
		rows, err := hooks.QueryContext(ctx, ids)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				t        hookd.Target
				current  string
				previous sql.NullString
				until    sql.NullInt64
			)
			if err := rows.Scan(&t.WebhookID, &t.URL, &t.Method, &t.Disabled, &current, &previous, &until); err != nil {
				return err
			}
			secrets := signingSecrets(current, previous, until)
			t.Secrets, t.SecretsUntil = secrets.ValidAt(now), secrets.ChangeAt(now)
			t.Headers = []hookd.Header{}
			out[t.WebhookID] = &t
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		hs, err := s.prepared(ctx, tx, headersSQL)
		if err != nil {
			return err
		}
		hrows, err := hs.QueryContext(ctx, ids)
		if err != nil {
			return err
		}
		headers, err := scanHeaders(hrows)
		if err != nil {
			return err
		}
		for _, h := range headers {
			t := out[h.WebhookID]
			t.Headers = append(t.Headers, h)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Complete records a batch of attempt results in one transaction (one
// commit for a whole batch of sends). For each result it settles the
// delivery as AttemptResult.DeliveryState says and logs the attempt: two
// statements for up to completeRows results. A result for a delivery that is gone (its webhook
// was deleted), already finished, or leased to another worker than
// r.Worker, is dropped. Then each webhook touched has its health and its
// circuit read once, updated by hookd.Health.RecordAll and
// hookd.Circuit.RecordAll with its attempts, and written back. The circuits
// opened or closed are told to the circuit observer after the commit.
func (s *Store) Complete(ctx context.Context, results []hookd.AttemptResult) error {
	_, err := s.CompleteDisabling(ctx, results)
	return err
}

var _ hookd.DisablingCompleter = (*Store)(nil)

// CompleteDisabling is Complete, and returns the webhooks it disabled
// (hookd.DisablingCompleter).
func (s *Store) CompleteDisabling(ctx context.Context, results []hookd.AttemptResult) ([]int64, error) {
	if len(results) == 0 {
		return nil, nil
	}
	var (
		changes  []hookd.CircuitChange
		disabled []int64
		promoted bool // a lane's next delivery became due
	)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		changes, disabled = changes[:0], disabled[:0]
		runs := make(map[int64][]hookd.RecordedRun, 4)
		order := make([]int64, 0, 4)
		now := s.clock.Now()
		finished := lanes{}
		var retried map[int64][]int64 // by webhook, for recordHealth
		// A batch may hold two results for one delivery (a stale worker's
		// and the one holding its lease now): each round settles one result
		// a delivery, as one statement a result would in turn.
		for rest := results; len(rest) > 0; {
			var round []hookd.AttemptResult
			round, rest = oneResultEach(rest)
			settled, err := s.settleRound(ctx, tx, round, now)
			if err != nil {
				return err
			}
			events, err := s.logRound(ctx, tx, round, settled, now)
			if err != nil {
				return err
			}
			for _, r := range round {
				d, ok := settled[r.DeliveryID]
				event, logged := events[r.DeliveryID]
				if !ok || !logged {
					continue // stale, or no event row: the foreign key keeps this from happening
				}
				if r.DeliveryState() == hookd.StatePending {
					if retried == nil {
						retried = map[int64][]int64{}
					}
					retried[d.webhookID] = append(retried[d.webhookID], r.DeliveryID)
				} else {
					finished.add(d.webhookID, d.lane)
				}
				if runs[d.webhookID] == nil {
					order = append(order, d.webhookID)
				}
				runs[d.webhookID] = append(runs[d.webhookID], hookd.RecordedRun{
					Run:        hookd.Run{At: hookd.Stamp(r.At, now), Success: r.Success, HTTPStatus: r.HTTPStatus, Duration: r.Duration, Event: event},
					Disable:    r.DisableWebhook,
					ErrorClass: r.ErrorClass,
				})
			}
		}
		var err error
		if promoted, err = s.promote(ctx, tx, finished, now); err != nil {
			return err
		}
		for _, id := range order {
			was, is, parked, err := s.recordHealth(ctx, tx, id, runs[id], retried[id], now)
			if err != nil {
				return err
			}
			if parked {
				disabled = append(disabled, id)
			}
			if change, ok := hookd.CircuitChanged(id, was, is); ok {
				changes = append(changes, change)
			}
		}
		return nil
	})
	if err == nil && promoted {
		s.notify()
	}
	if err == nil && s.observeCircuit != nil {
		for _, c := range changes {
			s.observeCircuit(c)
		}
	}
	if err != nil {
		return nil, err
	}
	return disabled, nil
}

// settledDelivery is what settling a delivery returns for its log entry.
type settledDelivery struct {
	webhookID, attempts int64
	eventID, messageID  string
	lane                sql.NullInt64
}

// oneResultEach splits results into those whose delivery they are the
// first of, in order, and the rest.
func oneResultEach(results []hookd.AttemptResult) (round, rest []hookd.AttemptResult) {
	seen := make(map[int64]bool, len(results))
	for _, r := range results {
		if seen[r.DeliveryID] {
			rest = append(rest, r)
			continue
		}
		seen[r.DeliveryID] = true
		round = append(round, r)
	}
	return round, rest
}

// settleRound settles the deliveries of round (settleStatement), one
// result each, and returns those it settled by id.
func (s *Store) settleRound(ctx context.Context, tx *sql.Tx, round []hookd.AttemptResult, now time.Time) (map[int64]settledDelivery, error) {
	args := make([]any, 0, len(round)*settleStatement.cols)
	for _, r := range round {
		state, next := r.DeliveryState(), sql.NullInt64{}
		if state == hookd.StatePending {
			next = nullMS(r.NextAttemptAt)
		}
		args = append(args, r.DeliveryID, string(state), next, ms(hookd.Stamp(r.At, now)), r.Worker)
	}
	settled := make(map[int64]settledDelivery, len(round))
	err := settleStatement.query(ctx, s, tx, args, func(rows *sql.Rows) error {
		var id int64
		var d settledDelivery
		if err := rows.Scan(&id, &d.webhookID, &d.eventID, &d.messageID, &d.attempts, &d.lane); err != nil {
			return err
		}
		settled[id] = d
		return nil
	})
	return settled, err
}

// logRound logs the attempts of round whose delivery it settled
// (logAttemptStatement) and returns their events' names by delivery id.
func (s *Store) logRound(ctx context.Context, tx *sql.Tx, round []hookd.AttemptResult, settled map[int64]settledDelivery, now time.Time) (map[int64]string, error) {
	args := make([]any, 0, len(settled)*logAttemptStatement.cols)
	for _, r := range round {
		d, ok := settled[r.DeliveryID]
		if !ok {
			continue
		}
		attempt := int64(r.Attempt)
		if attempt <= 0 {
			attempt = d.attempts // counted by settle already
		}
		next := sql.NullInt64{}
		if r.DeliveryState() == hookd.StatePending {
			next = nullMS(r.NextAttemptAt)
		}
		args = append(args, r.DeliveryID, d.webhookID, d.eventID, d.messageID, attempt, r.Success,
			r.HTTPStatus, int64(r.Duration), hookd.LoggableText(r.ErrorClass), hookd.LoggableText(r.Error),
			string(hookd.AppendHeadersJSON(nil, r.RequestHeaders)), hookd.LoggableText(r.ResponseBody), next,
			ms(hookd.Stamp(r.At, now)))
	}
	events := make(map[int64]string, len(settled))
	err := logAttemptStatement.query(ctx, s, tx, args, func(rows *sql.Rows) error {
		var id int64
		var event string
		if err := rows.Scan(&id, &event); err != nil {
			return err
		}
		events[id] = event
		return nil
	})
	return events, err
}

// recordHealth reads webhook id's health and circuit, records runs in them
// (hookd.Health.RecordAll, hookd.Circuit.RecordAll) and writes them back; a
// webhook that a 410 disabled has its deliveries parked, and one disabled
// already the deliveries retried by runs (hookd.ParkedUntil). It returns
// the circuit before and after, and whether it disabled the webhook
// (parked).
func (s *Store) recordHealth(ctx context.Context, tx *sql.Tx, id int64, runs []hookd.RecordedRun, retried []int64, now time.Time) (was, is hookd.Circuit, parked bool, err error) {
	read, err := s.prepared(ctx, tx, healthSQL)
	if err != nil {
		return was, is, false, err
	}
	var (
		h                       hookd.Health
		failing, success, runAt sql.NullInt64
		runSuccess              sql.NullBool
		runStatus, runDuration  sql.NullInt64
		runEvent                sql.NullString
		circuit                 storedCircuit
	)
	if err := read.QueryRowContext(ctx, id).Scan(append([]any{&failing, &success, &runAt, &runSuccess, &runStatus,
		&runDuration, &runEvent, &h.Disabled}, circuit.dest()...)...); err != nil {
		return was, is, false, err
	}
	h.FailingSince, h.LastSuccessAt = timePtr(failing), timePtr(success)
	h.LatestRun = latestRun(runAt, runSuccess, runStatus, runDuration, runEvent)
	after := h.RecordAll(runs)
	was = circuit.circuit()
	is = was.RecordAll(s.circuit, runs, now)
	change := hookd.ChangeDisabled(h.Disabled, after.Disabled)
	l := after.LatestRun
	write, err := s.prepared(ctx, tx, writeHealthSQL)
	if err != nil {
		return was, is, false, err
	}
	if _, err := write.ExecContext(ctx, append([]any{nullMS(after.FailingSince), nullMS(after.LastSuccessAt), ms(l.At),
		l.Success, l.HTTPStatus, int64(l.Duration), l.Event, after.Disabled, change.Park, ms(now), id},
		circuitArgs(is)...)...); err != nil {
		return was, is, false, err
	}
	if h.Disabled {
		return was, is, false, parkRetries(ctx, tx, retried)
	}
	return was, is, change.Park, applyDisabledChange(ctx, tx, id, change, now)
}

// parkRetries parks the deliveries retried, whose retries Complete has
// just recorded for a webhook disabled already.
func parkRetries(ctx context.Context, tx *sql.Tx, retried []int64) error {
	if len(retried) == 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, `UPDATE deliveries SET next_attempt_at = ?1
		WHERE id IN (SELECT value FROM json_each(?2)) AND state = 'pending' AND leased_by IS NULL`,
		ms(hookd.ParkedUntil), int64s(retried))
	return err
}

// Requeue makes the webhook's deliveries that failed for good with a last
// attempt in [from, to) due again at now, or parked while the webhook is
// disabled (hookd.ParkedUntil). They keep their attempt count, so the log
// numbers the new attempt after the old ones and a requeued delivery gets
// one more attempt, not a whole new retry schedule. Those of an ordered
// lane go back into their lane, blocked: due when their turn comes, by id.
func (s *Store) Requeue(ctx context.Context, webhookID int64, from, to time.Time) (int, error) {
	return s.requeue(ctx, webhookID, from, to)
}

// requeue is Requeue for webhookID, or for every webhook when it is 0.
func (s *Store) requeue(ctx context.Context, webhookID int64, from, to time.Time) (int, error) {
	now := s.clock.Now()
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if webhookID != 0 {
			if err := webhookExists(ctx, tx, webhookID); err != nil {
				return err
			}
		}
		// The webhook's own index (deliveries_webhook), or for all of them
		// the finished deliveries' (deliveries_finished).
		scope, args := "", []any{ms(now), ms(hookd.LaneBlocked), ms(from), ms(to), ms(hookd.ParkedUntil)}
		if webhookID != 0 {
			scope, args = "webhook_id = ?6 AND ", append(args, webhookID)
		}
		requeued, requeuedRows, err := lanesOf(ctx, tx, `UPDATE deliveries
			SET state = 'pending', leased_by = NULL, lease_until = NULL,
			    next_attempt_at = CASE WHEN lane IS NOT NULL THEN ?2
			        WHEN (SELECT w.disabled FROM webhooks w WHERE w.id = deliveries.webhook_id) THEN ?5 ELSE ?1 END
			WHERE `+scope+`state = 'failed' AND last_attempt_at >= ?3 AND last_attempt_at < ?4
			  AND EXISTS (SELECT 1 FROM events e WHERE e.id = event_id AND e.erased_at IS NULL
			    AND NOT (e.data = '{}' AND e.created_at < coalesce((SELECT cleared_before FROM payloads_cleared WHERE table_name = 'events'), 0)))
			RETURNING webhook_id, lane`, args...)
		if err != nil {
			return err
		}
		n = int64(requeuedRows)
		_, err = s.promote(ctx, tx, requeued, now)
		return err
	})
	if err != nil {
		return 0, err
	}
	if n > 0 {
		s.notify()
	}
	return int(n), nil
}
