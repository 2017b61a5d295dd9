-- The whole database's attempt counts per minute (Store.AttemptCounts, the
-- stats) read a range of this index alone; it serves Prune's "older than"
-- as attempts_created did.
CREATE INDEX attempts_created_success ON attempts (created_at, success);
DROP INDEX attempts_created;
