-- What claims write of a webhook (when it was last served, when its
-- throttle next lets an attempt out) moves from webhooks to a table of its
-- own, as on PostgreSQL, where claims and Complete then no longer lock the
-- same row (its 0020). SQLite has one writer: nothing waits less here.
CREATE TABLE webhook_claims (
    webhook_id       INTEGER PRIMARY KEY REFERENCES webhooks (id) ON DELETE CASCADE,
    last_claimed_at  INTEGER,
    throttle_next_at INTEGER
);
INSERT INTO webhook_claims (webhook_id, last_claimed_at, throttle_next_at)
SELECT id, last_claimed_at, throttle_next_at FROM webhooks
WHERE last_claimed_at IS NOT NULL OR throttle_next_at IS NOT NULL;
ALTER TABLE webhooks DROP COLUMN last_claimed_at;
ALTER TABLE webhooks DROP COLUMN throttle_next_at;
