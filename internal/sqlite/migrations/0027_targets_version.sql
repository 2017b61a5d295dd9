-- The dispatcher keeps the webhooks' targets (hookd.Target: URL, method,
-- headers, signing secrets, state) in memory while this version stays put:
-- every change to what Store.Targets returns raises it in the transaction
-- that makes the change, whichever statement and whichever process makes
-- it, and each claim reads it (hookd.Claimed.TargetsVersion).
ALTER TABLE subscriptions_version ADD COLUMN targets_version INTEGER NOT NULL DEFAULT 0;

-- A new webhook need not move it: no target of its id was read before it
-- (AUTOINCREMENT never gives a deleted webhook's id again). Its headers
-- do, which costs the dispatcher one read.
CREATE TRIGGER webhooks_delete_targets AFTER DELETE ON webhooks
BEGIN
    UPDATE subscriptions_version SET targets_version = targets_version + 1;
END;
-- Recorded attempts and claims update webhooks all the time: only a change
-- of these columns counts.
CREATE TRIGGER webhooks_update_targets
AFTER UPDATE OF http_url, http_method, disabled, signing_secret, previous_secret, previous_secret_expires_at ON webhooks
WHEN OLD.http_url IS NOT NEW.http_url OR OLD.http_method IS NOT NEW.http_method OR OLD.disabled IS NOT NEW.disabled
  OR OLD.signing_secret IS NOT NEW.signing_secret OR OLD.previous_secret IS NOT NEW.previous_secret
  OR OLD.previous_secret_expires_at IS NOT NEW.previous_secret_expires_at
BEGIN
    UPDATE subscriptions_version SET targets_version = targets_version + 1;
END;
CREATE TRIGGER webhook_headers_insert_targets AFTER INSERT ON webhook_headers
BEGIN
    UPDATE subscriptions_version SET targets_version = targets_version + 1;
END;
CREATE TRIGGER webhook_headers_update_targets AFTER UPDATE ON webhook_headers
BEGIN
    UPDATE subscriptions_version SET targets_version = targets_version + 1;
END;
CREATE TRIGGER webhook_headers_delete_targets AFTER DELETE ON webhook_headers
BEGIN
    UPDATE subscriptions_version SET targets_version = targets_version + 1;
END;
