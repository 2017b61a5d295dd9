-- The API key that published an event (hookd.Event.PublisherKeyID): an
-- event's id is an idempotency key of that key only (hookd.Republish). Not a
-- foreign key: an event outlives its key. Events stored before have 0, no
-- key, so no key can repeat them and read them back.
ALTER TABLE events ADD COLUMN publisher_key_id INTEGER NOT NULL DEFAULT 0;
