-- When the latest attempt began that a webhook's receiver answered while its
-- circuit was closed (hookd.Circuit.AnsweredAt): a failure of an attempt
-- begun before it does not count toward opening the circuit.
ALTER TABLE webhooks ADD COLUMN circuit_answered_at timestamptz;
