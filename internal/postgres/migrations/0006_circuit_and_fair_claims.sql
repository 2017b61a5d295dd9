-- Each webhook's circuit breaker (hookd.Circuit), and what fair claims
-- need: when the webhook was last served (claims go round robin, least
-- recently served first) and when its throttle next lets an attempt out.
ALTER TABLE webhooks
    ADD COLUMN circuit_state text NOT NULL DEFAULT 'closed'
        CHECK (circuit_state IN ('closed', 'open', 'half_open')),
    ADD COLUMN circuit_failures integer NOT NULL DEFAULT 0,
    ADD COLUMN circuit_opens integer NOT NULL DEFAULT 0,
    ADD COLUMN circuit_opened_at timestamptz,
    ADD COLUMN circuit_probe_at timestamptz,
    ADD COLUMN last_claimed_at timestamptz,
    ADD COLUMN throttle_next_at timestamptz;
