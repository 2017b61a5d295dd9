-- A disabled webhook's pending deliveries wait for it to be enabled again.
-- Left due, they would stand at the front of the claim order and every claim
-- would scan past them (a webhook disabled for failing has a long queue);
-- parked at the far future they are out of the way. Enabling the webhook
-- makes them due at once. Deliveries in flight (leased) keep their lease:
-- moving their next_attempt_at, which holds the lease's end, would let
-- another worker claim them. The trigger covers every way a webhook is
-- disabled: the API, a 410 answer and the auto-disable of failing webhooks.
CREATE FUNCTION park_disabled_deliveries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.disabled AND NOT OLD.disabled THEN
        UPDATE deliveries SET next_attempt_at = '9999-12-31T23:59:59.999Z'
        WHERE webhook_id = NEW.id AND state = 'pending' AND leased_by IS NULL;
    ELSIF OLD.disabled AND NOT NEW.disabled THEN
        UPDATE deliveries SET next_attempt_at = NEW.updated_at
        WHERE webhook_id = NEW.id AND state = 'pending' AND leased_by IS NULL AND next_attempt_at > NEW.updated_at;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER webhook_disabled_parks_deliveries
AFTER UPDATE OF disabled ON webhooks
FOR EACH ROW EXECUTE FUNCTION park_disabled_deliveries();
