-- PostgreSQL's 0019 moves the foreign keys of deliveries to its queue's
-- partition; SQLite has no partitions.
SELECT 1;
