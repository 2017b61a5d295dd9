-- The registry is listed a page at a time, oldest first (Store.ListProjects,
-- hookd.ProjectFilter): PROJECT_ADDED events may register every project of
-- a platform, and a page must not sort them all. A plain CREATE INDEX: the
-- registry is small next to the queue, and written by publishes only at
-- PROJECT_ADDED and PROJECT_PURGED.
CREATE INDEX projects_created ON projects (created_at, id);
