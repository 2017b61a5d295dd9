-- The whole database's attempt counts per minute (Store.AttemptCounts, the
-- stats) read a range of this index alone; it serves Prune's "older than"
-- as attempts_created_at did.
CREATE INDEX attempts_created_success ON attempts (created_at, success);
DROP INDEX attempts_created_at;

-- The success log by delivery (Store.DeliveryLog): a webhook's succeeded
-- deliveries, latest attempt first. Failed ones have
-- deliveries_webhook_failed, pending ones deliveries_webhook_due.
CREATE INDEX deliveries_webhook_succeeded ON deliveries (webhook_id, last_attempt_at) WHERE state = 'succeeded';
