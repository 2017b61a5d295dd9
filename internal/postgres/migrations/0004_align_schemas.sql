-- The two stores keep the same columns, and the rules live in Go (package
-- hookd), not in the schema. The parking of a disabled webhook's deliveries
-- (migration 0003) is done by the store, in the transaction that disables
-- or enables the webhook (hookd.ChangeDisabled), so the trigger goes.
-- Parked deliveries stay parked: the store unparks them when their webhook
-- is enabled, as the trigger did.
DROP TRIGGER webhook_disabled_parks_deliveries ON webhooks;
DROP FUNCTION park_disabled_deliveries();

-- finished_at always equalled last_attempt_at (the attempt that finished the
-- delivery), and SQLite has no such column: both prune finished deliveries
-- by last_attempt_at.
DROP INDEX deliveries_finished;
ALTER TABLE deliveries DROP COLUMN finished_at;
CREATE INDEX deliveries_finished ON deliveries (last_attempt_at) WHERE state <> 'pending';

-- Every attempt is logged with its request headers ('{}' for none), as on
-- SQLite. This reads the table once; it rewrites no row that has them.
UPDATE attempts SET request_headers = '{}' WHERE request_headers IS NULL;
ALTER TABLE attempts ALTER COLUMN request_headers SET NOT NULL;

-- What stays different from SQLite, and why:
-- attempts cascade from their webhook here, from their delivery there; the same rows go (Prune deletes attempts before their deliveries), and a delivery foreign key would add a check to each logged attempt and an index to the largest table.
-- deliveries keep two partial indexes by webhook (pending, failed) rather than SQLite's full one: the finished deliveries, most of the table, stay out of them.
