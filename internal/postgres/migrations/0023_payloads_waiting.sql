-- The events past payload retention whose data ClearPayloads kept, as a
-- delivery or their fan-out still needed it when it passed them: each call
-- clears those no longer needed, rather than keep their data for good.
CREATE TABLE payloads_waiting (
    event_id text PRIMARY KEY
);
