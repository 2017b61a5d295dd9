-- hookd's own settings of a webhook (hookd.WebhookSettings), kept beside
-- MediaPocket's fields: NULL is the default (the process's share of its
-- workers; no rate cap).
ALTER TABLE webhooks ADD COLUMN max_in_flight integer;
ALTER TABLE webhooks ADD COLUMN max_per_second double precision;
