-- Each webhook's circuit breaker (hookd.Circuit), and what fair claims
-- need: when the webhook was last served (claims go round robin, least
-- recently served first) and when its throttle next lets an attempt out.
ALTER TABLE webhooks ADD COLUMN circuit_state TEXT NOT NULL DEFAULT 'closed'
    CHECK (circuit_state IN ('closed', 'open', 'half_open'));
ALTER TABLE webhooks ADD COLUMN circuit_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE webhooks ADD COLUMN circuit_opens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE webhooks ADD COLUMN circuit_opened_at INTEGER;
ALTER TABLE webhooks ADD COLUMN circuit_probe_at INTEGER;
ALTER TABLE webhooks ADD COLUMN last_claimed_at INTEGER;
ALTER TABLE webhooks ADD COLUMN throttle_next_at INTEGER;
