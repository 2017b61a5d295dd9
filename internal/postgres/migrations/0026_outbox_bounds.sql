-- The outbox's bounds (README: Publishing inside your transaction).
--
-- data_bytes is the size of each row's data as written (0 for none),
-- measured once, by hookd_publish, when the row goes in: the relay sizes
-- its transactions and leaves the data of an oversized row unread by it,
-- never reading a large value whole just to learn its size
-- (octet_length(data::text) converts it in full). A plain nullable column
-- is added without rewriting the table, so that the migration holds its
-- lock only for a moment, whatever the backlog (platform transactions
-- calling hookd_publish wait for it); rows written before it keep NULL,
-- and the relay measures those itself.
ALTER TABLE outbox ADD COLUMN data_bytes integer;

-- Version 1 of the contract, as migration 0014 wrote it, now measuring the
-- data. OR REPLACE keeps the function's owner and grants (the platform's
-- EXECUTE, none for PUBLIC).
CREATE OR REPLACE FUNCTION hookd_publish(event text, project_id text DEFAULT NULL, user_id bigint DEFAULT NULL,
                                         data json DEFAULT NULL, id text DEFAULT NULL)
RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    INSERT INTO outbox (id, event, project_id, user_id, data, data_bytes)
    VALUES (id, event, project_id, user_id, data, coalesce(octet_length(data::text), 0));
    SELECT pg_notify('hookd_outbox', '');
END;
