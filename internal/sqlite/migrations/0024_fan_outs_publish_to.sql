-- A PublishTo (the test action, a notification) to an ordered webhook that
-- fan-outs still waiting may reach queues its one delivery behind them, so
-- that it cannot overtake their events in the webhook's lanes: a row for
-- that webhook alone, which FanOut creates in its turn. NULL: a publish's
-- event, for every webhook that matches it.
ALTER TABLE fan_outs ADD COLUMN webhook_id INTEGER;
