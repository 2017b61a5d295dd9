-- The queue's indexes move from the whole deliveries table, partial on
-- state = 'pending', to the queue's partition (0016), which holds only
-- pending deliveries, without that predicate.
--
-- A partial index whose predicate a query repeats is an index of "every
-- row the query may want": the planner may read it whole, and it did, to
-- find the 64 deliveries that Complete settles by id, whenever the queue's
-- statistics said the queue was small (TestCompleteLooksUpByIdWithStale
-- Statistics; see queueLookupsSQL). Without the predicate no index offers
-- that, and lookups by id go through the primary key. The finished
-- partitions lose indexes that were always empty there.
DROP INDEX deliveries_webhook_due;
DROP INDEX deliveries_webhook_leased;
DROP INDEX deliveries_lane;
CREATE INDEX deliveries_webhook_due ON deliveries_queue (webhook_id, next_attempt_at, id);
CREATE INDEX deliveries_webhook_leased ON deliveries_queue (webhook_id, lease_until) WHERE leased_by IS NOT NULL;
CREATE INDEX deliveries_lane ON deliveries_queue (webhook_id, lane, next_attempt_at, id) WHERE lane IS NOT NULL;
