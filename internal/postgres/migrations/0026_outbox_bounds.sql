-- The outbox's bounds (README: Publishing inside your transaction).
--
-- data_bytes is the size of each row's data as written, measured once when
-- the row goes in: the relay sizes its transactions and leaves the data of
-- an oversized row unread by it, never reading a large value whole just to
-- learn its size (octet_length(data::text) converts it in full). Rows
-- already waiting are measured here, once.
ALTER TABLE outbox ADD COLUMN data_bytes integer NOT NULL
    GENERATED ALWAYS AS (coalesce(octet_length(data::text), 0)) STORED;
