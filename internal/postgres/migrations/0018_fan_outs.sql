-- Events accepted with their deliveries still to be created (hookd.PlanFanOut:
-- a publish creates at most hookd.FanOutChunk deliveries itself), oldest
-- first. after_webhook_id is the last webhook the event's deliveries have
-- reached: Store.FanOut creates the rest in ascending webhook id, a chunk a
-- transaction, and drops the row when done.
CREATE TABLE fan_outs (
    seq              bigserial PRIMARY KEY,
    event_id         text      NOT NULL,
    after_webhook_id bigint    NOT NULL DEFAULT 0
);
