-- PostgreSQL partitions its history by day here (its 0016). SQLite keeps
-- its tables and prunes them in small chunks (Store.Prune): nothing changes.
SELECT 1;
