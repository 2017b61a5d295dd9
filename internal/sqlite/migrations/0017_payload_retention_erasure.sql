-- Payload retention and erasure (hookd.Erasure). An erased event keeps its
-- metadata; erased_at says its data went, so that no requeue sends it.
ALTER TABLE events ADD COLUMN erased_at INTEGER;
-- Erasure finds a project's or a user's events without reading the table.
CREATE INDEX events_project ON events (project_id);
CREATE INDEX events_user ON events (user_id);
-- How far payload retention has cleared each table (hookd.PayloadTables):
-- each round clears from there to the cutoff, so it never reads again what
-- it already cleared.
CREATE TABLE payloads_cleared (
    table_name     TEXT    PRIMARY KEY,
    cleared_before INTEGER NOT NULL
);
