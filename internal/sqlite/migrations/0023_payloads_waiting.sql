-- The events past payload retention whose data ClearPayloads kept, as a
-- delivery or their fan-out still needed it when it passed them: each call
-- clears those no longer needed, rather than keep their data for good.
CREATE TABLE payloads_waiting (
    event_id text PRIMARY KEY
);

-- The events that runs before this migration passed and kept: all that are
-- older than where the last run ended and still hold data.
INSERT INTO payloads_waiting (event_id)
SELECT id FROM events
WHERE created_at < (SELECT cleared_before FROM payloads_cleared WHERE table_name = 'events') AND data <> '{}';
