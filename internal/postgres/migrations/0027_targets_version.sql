-- The dispatcher keeps the webhooks' targets (hookd.Target: URL, method,
-- headers, signing secrets, state) in memory while this version stays put:
-- every change to what Store.Targets returns raises it in the transaction
-- that makes the change, whichever statement and whichever process makes
-- it, and each claim reads it (hookd.Claimed.TargetsVersion). A column with
-- a constant default: no rewrite, a moment's lock. But every publish reads
-- this table: an ALTER that waited behind a long transaction would hold
-- every publish of every process behind it, so a lock it cannot take
-- within 5 s fails the migration (and the serve that runs it, to be
-- started again) rather than stall the intake.
SET LOCAL lock_timeout = '5s';
ALTER TABLE subscriptions_version ADD COLUMN targets_version bigint NOT NULL DEFAULT 0;

CREATE FUNCTION raise_targets_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE subscriptions_version SET targets_version = targets_version + 1;
    RETURN NULL;
END;
$$;

-- A new webhook need not move it: no target of its id was read before it
-- (an identity column never gives a deleted webhook's id again). Its headers
-- do, as does a statement on headers that changes no row (statement-level
-- triggers), which costs the dispatcher one read.
CREATE TRIGGER webhooks_delete_targets AFTER DELETE ON webhooks
    FOR EACH STATEMENT EXECUTE FUNCTION raise_targets_version();
-- Recorded attempts and claims update webhooks all the time: only a change
-- of these columns counts.
CREATE TRIGGER webhooks_update_targets
    AFTER UPDATE OF http_url, http_method, disabled, signing_secret, previous_secret, previous_secret_expires_at ON webhooks
    FOR EACH ROW
    WHEN (OLD.http_url IS DISTINCT FROM NEW.http_url OR OLD.http_method IS DISTINCT FROM NEW.http_method
          OR OLD.disabled IS DISTINCT FROM NEW.disabled OR OLD.signing_secret IS DISTINCT FROM NEW.signing_secret
          OR OLD.previous_secret IS DISTINCT FROM NEW.previous_secret
          OR OLD.previous_secret_expires_at IS DISTINCT FROM NEW.previous_secret_expires_at)
    EXECUTE FUNCTION raise_targets_version();
CREATE TRIGGER webhook_headers_targets AFTER INSERT OR UPDATE OR DELETE ON webhook_headers
    FOR EACH STATEMENT EXECUTE FUNCTION raise_targets_version();
