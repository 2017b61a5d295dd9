-- Payload filters (hookd.Filter): a webhook's filter is a setting beside
-- the others, NULL for none. It decides who receives an event as the
-- subscriptions do, so changing it raises the subscriptions' version
-- (migration 0009).
ALTER TABLE webhooks ADD COLUMN filter text;
CREATE TRIGGER webhooks_filter_subscriptions AFTER UPDATE OF filter ON webhooks
    FOR EACH ROW
    WHEN (OLD.filter IS DISTINCT FROM NEW.filter)
    EXECUTE FUNCTION raise_subscriptions_version();

-- Replays (hookd.Replay): a job that re-sends a webhook's events of a range
-- of time, a chunk at a time. after_at and after_id are where it stands in
-- the events' order (created_at, id).
CREATE TABLE replays (
    id                bigserial   PRIMARY KEY,
    webhook_id        bigint      NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    since             timestamptz NOT NULL,
    until             timestamptz NOT NULL,
    include_succeeded boolean     NOT NULL,
    state             text        NOT NULL CHECK (state IN ('running', 'done', 'cancelled')),
    total             integer     NOT NULL,
    scanned           integer     NOT NULL DEFAULT 0,
    queued            integer     NOT NULL DEFAULT 0,
    skipped_payload_expired integer NOT NULL DEFAULT 0,
    after_at          timestamptz NOT NULL,
    after_id          text        NOT NULL DEFAULT '',
    created_at        timestamptz NOT NULL,
    finished_at       timestamptz
);
CREATE INDEX replays_webhook ON replays (webhook_id, id);
-- One running replay per webhook: two would send the same events twice.
CREATE UNIQUE INDEX replays_running ON replays (webhook_id) WHERE state = 'running';

-- The replay that queued a delivery, NULL for the others: its figures, its
-- pace (hookd.ReplayWaits) and its cancel read its deliveries by it. No
-- foreign key: a replay goes with its webhook, as its deliveries do.
ALTER TABLE deliveries ADD COLUMN replay_id bigint;
CREATE INDEX deliveries_replay ON deliveries (replay_id, state) WHERE replay_id IS NOT NULL;

-- A replay reads the events of its range in the order (created_at, id), a
-- chunk at a time from where it stands: in this index that is a range scan
-- that stops at the chunk's end, where the index of created_at alone made
-- every chunk sort the rest of the range. Pruning reads it as before.
CREATE INDEX events_created_id ON events (created_at, id);
DROP INDEX events_created_at;
