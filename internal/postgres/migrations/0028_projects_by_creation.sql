-- The registry is listed a page at a time, oldest first (Store.ListProjects,
-- hookd.ProjectFilter): PROJECT_ADDED events may register every project of
-- a platform, and a page must not sort them all. Ids in byte order
-- (COLLATE "C"), as SQLite compares them, so that both stores order
-- projects created at the same moment alike. A plain CREATE INDEX, which
-- holds back publishes of PROJECT_ADDED and PROJECT_PURGED while it builds
-- (a fraction of a second for 100,000 projects); a lock it cannot take
-- within 5 s fails the migration rather than stall them longer.
SET LOCAL lock_timeout = '5s';
CREATE INDEX projects_created ON projects (created_at, id COLLATE "C");
