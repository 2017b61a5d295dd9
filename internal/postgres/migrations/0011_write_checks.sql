-- One row that CheckWrite rewrites: /readyz proves with it that the
-- database takes a write (not read-only, not a standby, disk not full).
CREATE TABLE write_checks (
    id         smallint PRIMARY KEY CHECK (id = 1),
    checked_at timestamptz NOT NULL
);
