-- The history is partitioned by day, so that expiring a day is dropping a
-- table, not deleting millions of rows (which bloats tables and indexes and
-- competes with the queue):
--   attempts            RANGE (created_at), a partition a day
--   deliveries          LIST (state): deliveries_queue holds the pending
--                       ones (the live queue, small and hot: claims and
--                       completes only ever touch it); deliveries_done
--                       holds the rest, RANGE (last_attempt_at) by day.
--                       A delivery that finishes moves from the one to the
--                       other (an UPDATE of its state); a requeue moves it back.
-- Each has a DEFAULT partition for rows no day partition holds yet (a
-- time outside the days made ahead); Prune deletes its old rows.
-- events stay one table: an event id is an idempotency key over all events,
-- which needs one unique index over all of them (a partitioned table's
-- unique indexes must hold its partition key).
--
-- The tables are converted whatever columns, indexes, foreign keys and
-- triggers later migrations gave them: each is rebuilt LIKE the old one,
-- rows copied with SELECT *, and the old one's indexes, foreign keys and
-- triggers made again from their definitions. Only its primary key
-- changes: attempts (id, created_at); deliveries_queue (id); deliveries_done
-- has none (its ids are unique all the same: the queue's identity made
-- them), only an index on id.

-- hookd_partition_lock_timeout bounds, for the rest of the transaction,
-- the wait for the locks that attaching and dropping partitions take (a
-- drop locks the parent table out entirely): rather than queue every
-- statement on the table behind a long query, it fails, and the next
-- maintenance round tries again. The migration itself waits as long as
-- it must (it restores the setting after each call).
CREATE FUNCTION hookd_partition_lock_timeout() RETURNS void LANGUAGE sql AS $$
    SELECT set_config('lock_timeout', '2s', true);
$$;

-- hookd_day_partition makes parent's partition for day (UTC), moving into
-- it the rows its DEFAULT partition holds for that day. It returns false
-- when that partition exists. Prune calls it for the days ahead.
CREATE FUNCTION hookd_day_partition(parent regclass, day date) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    part text := (SELECT relname FROM pg_class WHERE oid = parent) || '_p' || to_char(day, 'YYYYMMDD');
    lo   timestamptz := day::timestamp AT TIME ZONE 'UTC';
    hi   timestamptz := (day + 1)::timestamp AT TIME ZONE 'UTC';
    key  text;
    def  regclass;
BEGIN
    IF to_regclass(quote_ident(part)) IS NOT NULL THEN
        RETURN false;
    END IF;
    PERFORM hookd_partition_lock_timeout();
    SELECT a.attname INTO key FROM pg_partitioned_table p
        JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]
        WHERE p.partrelid = parent;
    SELECT i.inhrelid::regclass INTO def FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = parent AND pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT';
    EXECUTE format('CREATE TABLE %I (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part, parent);
    IF def IS NOT NULL THEN
        EXECUTE format('WITH moved AS (DELETE FROM %s WHERE %I >= %L AND %I < %L RETURNING *) INSERT INTO %I SELECT * FROM moved',
            def, key, lo, key, hi, part);
    END IF;
    EXECUTE format('ALTER TABLE %s ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', parent, part, lo, hi);
    RETURN true;
END;
$$;

-- hookd_drop_day_partitions drops parent's day partitions that end at or
-- before before, and returns their row count: PostgreSQL's estimate
-- (reltuples: counting would read them), or the count of one never
-- analysed, which is small (analysis follows the first thousands of rows).
CREATE FUNCTION hookd_drop_day_partitions(parent regclass, before timestamptz) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    p     record;
    total bigint := 0;
BEGIN
    PERFORM hookd_partition_lock_timeout();
    FOR p IN
        SELECT c.oid::regclass AS part, c.reltuples::bigint AS n
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = parent
          AND c.relname ~ '_p[0-9]{8}$'
          AND (to_date(right(c.relname, 8), 'YYYYMMDD') + 1)::timestamp AT TIME ZONE 'UTC' <= before
        ORDER BY c.relname
    LOOP
        IF p.n < 0 THEN
            EXECUTE format('SELECT count(*) FROM %s', p.part) INTO p.n;
        END IF;
        EXECUTE format('DROP TABLE %s', p.part);
        total := total + p.n;
    END LOOP;
    RETURN total;
END;
$$;

-- Conversion, in two halves around the copy of the rows. The first keeps
-- what the old table has besides its columns and frees their names.
CREATE TEMPORARY TABLE hookd_saved_defs (tbl text, kind text, name text, def text) ON COMMIT DROP;

CREATE FUNCTION pg_temp.hookd_set_aside(tbl text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    -- Indexes that back no constraint: made again on the new table.
    INSERT INTO hookd_saved_defs
        SELECT tbl, 'index', c.relname, pg_get_indexdef(i.indexrelid)
        FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        WHERE i.indrelid = tbl::regclass
          AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid);
    INSERT INTO hookd_saved_defs
        SELECT tbl, 'fkey', conname, pg_get_constraintdef(oid)
        FROM pg_constraint WHERE conrelid = tbl::regclass AND contype = 'f';
    INSERT INTO hookd_saved_defs
        SELECT tbl, 'trigger', tgname, pg_get_triggerdef(oid)
        FROM pg_trigger WHERE tgrelid = tbl::regclass AND NOT tgisinternal;
    -- Unique indexes other than the primary key would need the partition
    -- key: refuse rather than lose one silently.
    IF EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = tbl::regclass AND contype IN ('u', 'x')) THEN
        RAISE EXCEPTION 'hookd 0016: % has a unique or exclusion constraint; partitioning needs it to include the partition key', tbl;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_constraint WHERE confrelid = tbl::regclass AND contype = 'f') THEN
        RAISE EXCEPTION 'hookd 0016: a foreign key refers to %; a partitioned table cannot keep it', tbl;
    END IF;
    FOR r IN SELECT name FROM hookd_saved_defs WHERE hookd_saved_defs.tbl = $1 AND kind = 'index' LOOP
        EXECUTE format('DROP INDEX %I', r.name);
    END LOOP;
    FOR r IN SELECT name FROM hookd_saved_defs WHERE hookd_saved_defs.tbl = $1 AND kind = 'trigger' LOOP
        EXECUTE format('DROP TRIGGER %I ON %I', r.name, tbl);
    END LOOP;
    FOR r IN SELECT conname FROM pg_constraint WHERE conrelid = tbl::regclass AND contype = 'p' LOOP
        EXECUTE format('ALTER TABLE %I RENAME CONSTRAINT %I TO %I', tbl, r.conname, r.conname || '_pre16');
    END LOOP;
    EXECUTE format('ALTER TABLE %I RENAME TO %I', tbl, tbl || '_pre16');
END;
$$;

-- The second makes them again on the new table, carries the identity
-- sequence on and drops the old table.
CREATE FUNCTION pg_temp.hookd_restore(tbl text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    r   record;
    seq text;
BEGIN
    FOR r IN SELECT kind, name, def FROM hookd_saved_defs WHERE hookd_saved_defs.tbl = $1 ORDER BY kind LOOP
        IF r.kind = 'fkey' THEN
            EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I %s', tbl, r.name, r.def);
        ELSE
            EXECUTE r.def; -- names the table as tbl, which is now the new one
        END IF;
    END LOOP;
    seq := pg_get_serial_sequence(quote_ident(tbl), 'id');
    IF seq IS NOT NULL THEN
        EXECUTE format('SELECT setval(%L, coalesce((SELECT max(id) FROM %I), 0) + 1, false)', seq, tbl);
    END IF;
    EXECUTE format('DROP TABLE %I', tbl || '_pre16');
END;
$$;

-- hookd_day_partitions makes the day partitions of parent for the days
-- from first to last.
CREATE FUNCTION pg_temp.hookd_day_partitions(parent regclass, first timestamptz, last timestamptz) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    was text := current_setting('lock_timeout');
BEGIN
    PERFORM hookd_day_partition(parent, d::date)
    FROM generate_series((first AT TIME ZONE 'UTC')::date, (last AT TIME ZONE 'UTC')::date, interval '1 day') d
    WHERE first IS NOT NULL;
    PERFORM set_config('lock_timeout', was, true);
END;
$$;

-- attempts
SELECT pg_temp.hookd_set_aside('attempts');
CREATE TABLE attempts (LIKE attempts_pre16 INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING IDENTITY
    INCLUDING GENERATED INCLUDING STORAGE INCLUDING COMMENTS) PARTITION BY RANGE (created_at);
CREATE TABLE attempts_default PARTITION OF attempts DEFAULT;
SELECT pg_temp.hookd_day_partitions('attempts', min(created_at), max(created_at)) FROM attempts_pre16;
INSERT INTO attempts SELECT * FROM attempts_pre16;
ALTER TABLE attempts ADD PRIMARY KEY (id, created_at);
SELECT pg_temp.hookd_restore('attempts');

-- deliveries
SELECT pg_temp.hookd_set_aside('deliveries');
CREATE TABLE deliveries (LIKE deliveries_pre16 INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING IDENTITY
    INCLUDING GENERATED INCLUDING STORAGE INCLUDING COMMENTS) PARTITION BY LIST (state);
CREATE TABLE deliveries_queue PARTITION OF deliveries (PRIMARY KEY (id)) FOR VALUES IN ('pending');
CREATE TABLE deliveries_done PARTITION OF deliveries DEFAULT PARTITION BY RANGE (last_attempt_at);
CREATE TABLE deliveries_done_default PARTITION OF deliveries_done DEFAULT;
SELECT pg_temp.hookd_day_partitions('deliveries_done', min(last_attempt_at), max(last_attempt_at))
    FROM deliveries_pre16 WHERE state <> 'pending';
INSERT INTO deliveries SELECT * FROM deliveries_pre16;
SELECT pg_temp.hookd_restore('deliveries');
-- Prune's index: the day partitions are dropped whole, and the default
-- one is small.
DROP INDEX IF EXISTS deliveries_finished;
-- No statement of hookd looks up a finished delivery by id (they all name
-- state = 'pending', which only the queue holds), but one that did would
-- read every day whole: this index keeps that a probe a day.
CREATE INDEX deliveries_done_id ON deliveries_done (id);
