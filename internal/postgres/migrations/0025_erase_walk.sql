-- Erasure (Store.Erase) walks a project's or a user's events in id order,
-- a chunk a statement. With the key and the id in one index, each chunk is
-- one descent of it, with no sort; with the key alone, each chunk would sort
-- all of the project's events again. These replace 0017's indexes, which
-- only erasure used, and take SQLite's names.
DROP INDEX events_project_id;
DROP INDEX events_user_id;
CREATE INDEX events_project ON events (project_id, id);
CREATE INDEX events_user ON events (user_id, id);
