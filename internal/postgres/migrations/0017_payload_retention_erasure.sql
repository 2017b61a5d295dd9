-- Payload retention and erasure (hookd.Erasure). An erased event keeps its
-- metadata; erased_at says its data went, so that no requeue sends it.
ALTER TABLE events ADD COLUMN erased_at timestamptz;
-- Erasure finds a project's or a user's events, and an event's attempts,
-- without reading whole tables.
CREATE INDEX events_project_id ON events (project_id);
CREATE INDEX events_user_id ON events (user_id);
CREATE INDEX attempts_event_id ON attempts (event_id);
-- How far payload retention has cleared each table (hookd.PayloadTables):
-- each round clears from there to the cutoff, so it never reads again what
-- it already cleared.
CREATE TABLE payloads_cleared (
    table_name     text PRIMARY KEY,
    cleared_before timestamptz NOT NULL
);
