-- Ordered delivery (hookd.Ordering): a webhook's ordering (NULL: none), and
-- each delivery's lane (hookd.Ordering.Lane, NULL: in no lane). A delivery
-- that waits for an earlier one of its lane is pending at
-- hookd.LaneBlocked; deliveries_lane finds a lane's head and its oldest
-- blocked delivery in one descent each, and holds nothing of unordered
-- webhooks.
ALTER TABLE webhooks ADD COLUMN ordering TEXT;
ALTER TABLE deliveries ADD COLUMN lane INTEGER;
CREATE INDEX deliveries_lane ON deliveries (webhook_id, lane, next_attempt_at, id)
    WHERE state = 'pending' AND lane IS NOT NULL;
-- Publishing gives each new delivery its lane from the subscriptions'
-- index (migration 0009), so a change of ordering raises its version too.
CREATE TRIGGER webhooks_ordering_subscriptions AFTER UPDATE OF ordering ON webhooks
WHEN OLD.ordering IS NOT NEW.ordering
BEGIN
    UPDATE subscriptions_version SET version = version + 1;
END;
