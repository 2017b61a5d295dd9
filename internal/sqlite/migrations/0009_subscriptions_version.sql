-- Publishing matches events in memory (hookd.Subscriptions), with an index
-- that each store builds again when this version moves. Every change to
-- what a webhook receives (its events, project, state or users) raises it
-- in the transaction that makes the change, whichever statement and
-- whichever process makes it: so these triggers, not the Go code of each
-- change, keep the index current.
CREATE TABLE subscriptions_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO subscriptions_version (id, version) VALUES (1, 0);

CREATE TRIGGER webhooks_insert_subscriptions AFTER INSERT ON webhooks
BEGIN
    UPDATE subscriptions_version SET version = version + 1;
END;
CREATE TRIGGER webhooks_delete_subscriptions AFTER DELETE ON webhooks
BEGIN
    UPDATE subscriptions_version SET version = version + 1;
END;
-- Claims and recorded attempts update webhooks all the time (and write
-- disabled as it was): only a change of these columns counts.
CREATE TRIGGER webhooks_update_subscriptions AFTER UPDATE OF trigger_events, project_id, disabled ON webhooks
WHEN OLD.trigger_events IS NOT NEW.trigger_events OR OLD.project_id IS NOT NEW.project_id
  OR OLD.disabled IS NOT NEW.disabled
BEGIN
    UPDATE subscriptions_version SET version = version + 1;
END;
CREATE TRIGGER webhook_users_insert_subscriptions AFTER INSERT ON webhook_users
BEGIN
    UPDATE subscriptions_version SET version = version + 1;
END;
CREATE TRIGGER webhook_users_delete_subscriptions AFTER DELETE ON webhook_users
BEGIN
    UPDATE subscriptions_version SET version = version + 1;
END;
CREATE TRIGGER webhook_users_update_subscriptions AFTER UPDATE ON webhook_users
BEGIN
    UPDATE subscriptions_version SET version = version + 1;
END;
