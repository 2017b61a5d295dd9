-- Fair claims (hookd.PlanClaim) find the webhooks with due deliveries by a
-- skip scan of deliveries_webhook_due (one index descent per webhook with
-- pending deliveries, however long its queue), count each one's due
-- deliveries up to the claim's limit and lease its oldest due ones from the
-- same index.
CREATE INDEX deliveries_webhook_due ON deliveries (webhook_id, next_attempt_at, id) WHERE state = 'pending';
-- A webhook's attempts in flight (leased, lease not expired), which its
-- share bounds: this index holds only leased deliveries, so counting them
-- never reads the waiting ones.
CREATE INDEX deliveries_webhook_leased ON deliveries (webhook_id, lease_until) WHERE state = 'pending' AND leased_by IS NOT NULL;
-- The claim no longer scans the whole queue in due order (deliveries_due):
-- it goes webhook by webhook. Dropping that index spares every queued,
-- claimed and recorded delivery its upkeep.
DROP INDEX deliveries_due;
