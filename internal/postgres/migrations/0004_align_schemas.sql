-- The two stores keep the same columns, and the rules live in Go (package
-- hookd), not in the schema. The parking of a disabled webhook's deliveries
-- (migration 0003) is done by the store, in the transaction that disables
-- or enables the webhook (hookd.ChangeDisabled), so the trigger goes.
-- Parked deliveries stay parked: the store unparks them when their webhook
-- is enabled, as the trigger did.
DROP TRIGGER webhook_disabled_parks_deliveries ON webhooks;
DROP FUNCTION park_disabled_deliveries();
