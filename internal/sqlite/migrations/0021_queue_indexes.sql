-- PostgreSQL's 0021 moves the indexes of pending deliveries to its queue's
-- partition; SQLite has no partitions.
SELECT 1;
