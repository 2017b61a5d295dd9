-- The two stores keep the same columns, and the rules live in Go (package
-- hookd), not in the schema:
--
-- Durations are nanoseconds, as on PostgreSQL (and as time.Duration counts):
-- the stored milliseconds are converted, so every row keeps its figure.
--
-- The parking of a disabled webhook's deliveries (migration 0003) is done
-- by the store, in the transaction that disables or enables the webhook
-- (hookd.ChangeDisabled), so the triggers go. Parked deliveries stay parked:
-- the store unparks them when their webhook is enabled, as the trigger did.
ALTER TABLE attempts RENAME COLUMN duration_ms TO duration_ns;
UPDATE attempts SET duration_ns = duration_ns * 1000000;

ALTER TABLE webhooks RENAME COLUMN last_run_duration_ms TO last_run_duration_ns;
UPDATE webhooks SET last_run_duration_ns = last_run_duration_ns * 1000000 WHERE last_run_duration_ns IS NOT NULL;

DROP TRIGGER webhook_disabled_parks_deliveries;
DROP TRIGGER webhook_enabled_unparks_deliveries;

-- A delivery's last change was kept in updated_at, which nothing reads;
-- PostgreSQL has no such column. Both prune finished deliveries by
-- last_attempt_at (the attempt that finished them).
ALTER TABLE deliveries DROP COLUMN updated_at;

-- PostgreSQL has this index: the users of a webhook, in order.
CREATE INDEX webhook_users_webhook ON webhook_users (webhook_id, id);

-- What stays different from PostgreSQL, and why:
-- attempts cascade from their delivery here, from their webhook there; the same rows go (Prune deletes attempts before their deliveries), and changing a foreign key in SQLite rebuilds the table.
-- attempts_delivery serves that cascade; PostgreSQL has no delivery foreign key to serve.
-- deliveries_webhook stays one full index, not PostgreSQL's two partial ones: the cascade from webhooks looks deliveries up by webhook_id alone, which a partial index cannot answer.
