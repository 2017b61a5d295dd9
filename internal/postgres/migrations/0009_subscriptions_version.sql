-- Publishing matches events in memory (hookd.Subscriptions), with an index
-- that each store builds again when this version moves. Every change to
-- what a webhook receives (its events, project, state or users) raises it
-- in the transaction that makes the change, whichever statement and
-- whichever process makes it: so these triggers, not the Go code of each
-- change, keep the index of every process current.
CREATE TABLE subscriptions_version (
    id      integer PRIMARY KEY CHECK (id = 1),
    version bigint  NOT NULL
);
INSERT INTO subscriptions_version (id, version) VALUES (1, 0);

CREATE FUNCTION raise_subscriptions_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE subscriptions_version SET version = version + 1;
    RETURN NULL;
END;
$$;

CREATE TRIGGER webhooks_insert_delete_subscriptions AFTER INSERT OR DELETE ON webhooks
    FOR EACH STATEMENT EXECUTE FUNCTION raise_subscriptions_version();
-- Claims and recorded attempts update webhooks all the time (and write
-- disabled as it was): only a change of these columns counts.
CREATE TRIGGER webhooks_update_subscriptions AFTER UPDATE OF trigger_events, project_id, disabled ON webhooks
    FOR EACH ROW
    WHEN (OLD.trigger_events IS DISTINCT FROM NEW.trigger_events OR OLD.project_id IS DISTINCT FROM NEW.project_id
          OR OLD.disabled IS DISTINCT FROM NEW.disabled)
    EXECUTE FUNCTION raise_subscriptions_version();
CREATE TRIGGER webhook_users_subscriptions AFTER INSERT OR UPDATE OR DELETE ON webhook_users
    FOR EACH STATEMENT EXECUTE FUNCTION raise_subscriptions_version();
