-- One row that CheckWrite rewrites: /readyz proves with it that the
-- database takes a write (not read-only, disk not full).
CREATE TABLE write_checks (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    checked_at INTEGER NOT NULL
);
