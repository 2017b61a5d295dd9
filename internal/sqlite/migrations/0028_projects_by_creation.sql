-- The registry is listed a page at a time, oldest first (Store.ListProjects,
-- hookd.ProjectFilter): PROJECT_ADDED events may register every project of
-- a platform, and a page must not sort them all.
CREATE INDEX projects_created ON projects (created_at, id);
