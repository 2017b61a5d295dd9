-- A disabled webhook's pending deliveries wait for it to be enabled again.
-- Left due, they would stand at the front of the claim order and every claim
-- would scan past them (a webhook disabled for failing has a long queue);
-- parked at the far future they are out of the way. Enabling the webhook
-- makes them due at once. Deliveries in flight (leased) keep their lease:
-- moving their next_attempt_at, which holds the lease's end, would let
-- another worker claim them. Triggers cover every way a webhook is disabled:
-- the API, a 410 answer and the auto-disable of failing webhooks.
CREATE TRIGGER webhook_disabled_parks_deliveries
AFTER UPDATE OF disabled ON webhooks
WHEN NEW.disabled AND NOT OLD.disabled
BEGIN
    UPDATE deliveries SET next_attempt_at = 253402300799999 -- 9999-12-31T23:59:59.999Z
    WHERE webhook_id = NEW.id AND state = 'pending' AND leased_by IS NULL;
END;

CREATE TRIGGER webhook_enabled_unparks_deliveries
AFTER UPDATE OF disabled ON webhooks
WHEN OLD.disabled AND NOT NEW.disabled
BEGIN
    UPDATE deliveries SET next_attempt_at = NEW.updated_at
    WHERE webhook_id = NEW.id AND state = 'pending' AND leased_by IS NULL AND next_attempt_at > NEW.updated_at;
END;
