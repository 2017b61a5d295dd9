-- hookd's first schema. Times are INTEGER unix milliseconds (UTC), the
-- precision the API shows; booleans are 0/1.

CREATE TABLE api_keys (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     INTEGER NOT NULL,
    prefix      TEXT    NOT NULL UNIQUE,
    secret_hash BLOB    NOT NULL,
    name        TEXT    NOT NULL,
    role        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    last_access INTEGER
);
CREATE INDEX api_keys_user ON api_keys (user_id, id);

CREATE TABLE projects (
    id         TEXT    PRIMARY KEY,
    title      TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- AUTOINCREMENT keeps ids of deleted webhooks (and of their deliveries) from
-- being handed out again, so a late result or an old log line never lands on
-- a newer record.
--
-- project_id has no foreign key on purpose: PROJECT_PURGED removes a project
-- from the registry but leaves its webhooks, which then simply match nothing.
--
-- failing_since is the time of the first failed attempt after the last
-- success (NULL when the last attempt succeeded); DisableFailing reads it.
-- last_success_at lets a failure recorded late (workers finish out of order)
-- tell that a later success already ended its streak.
-- last_run_* is the latest attempt, kept here so that listing webhooks does
-- not search the attempt log and so that pruning the log keeps it.
CREATE TABLE webhooks (
    id                         INTEGER PRIMARY KEY AUTOINCREMENT,
    name                       TEXT    NOT NULL,
    http_url                   TEXT    NOT NULL,
    http_method                TEXT    NOT NULL,
    trigger_events             TEXT    NOT NULL DEFAULT '[]', -- JSON array of event names
    project_id                 TEXT,
    disabled                   INTEGER NOT NULL DEFAULT 0,
    signing_secret             TEXT    NOT NULL,
    previous_secret            TEXT,
    previous_secret_expires_at INTEGER,
    failing_since              INTEGER,
    last_success_at            INTEGER,
    last_run_at                INTEGER,
    last_run_success           INTEGER,
    last_run_status            INTEGER,
    last_run_duration_ms       INTEGER,
    last_run_event             TEXT,
    created_at                 INTEGER NOT NULL,
    updated_at                 INTEGER NOT NULL
);
CREATE INDEX webhooks_project ON webhooks (project_id);

CREATE TABLE webhook_headers (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id   INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    header_key   TEXT    NOT NULL,
    header_value TEXT    NOT NULL,
    hidden       INTEGER NOT NULL DEFAULT 0,
    is_hmac      INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX webhook_headers_webhook ON webhook_headers (webhook_id, id);

CREATE TABLE webhook_users (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (webhook_id, user_id)
);

-- deliveries is how many deliveries the event created when it was accepted,
-- so that a repeat of its id is answered with the original figure even after
-- some of those deliveries were pruned or their webhook deleted.
CREATE TABLE events (
    id         TEXT    PRIMARY KEY,
    event      TEXT    NOT NULL,
    project_id TEXT,
    user_id    INTEGER,
    data       TEXT    NOT NULL,
    deliveries INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
CREATE INDEX events_created ON events (created_at);

-- A delivery is pending until its last attempt: due when next_attempt_at has
-- passed. Claiming one sets next_attempt_at to the end of the lease, so a
-- delivery whose worker died is due again when its lease ends, and the claim
-- query needs no second condition (nor scans the deliveries in flight).
CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id      INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id        TEXT    NOT NULL REFERENCES events (id),
    message_id      TEXT    NOT NULL,
    state           TEXT    NOT NULL DEFAULT 'pending'
                            CHECK (state IN ('pending', 'succeeded', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    leased_by       TEXT,
    lease_until     INTEGER,
    last_attempt_at INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
-- Claim: the due pending deliveries, oldest first. Finished ones stay out.
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id) WHERE state = 'pending';
-- The live figures of a webhook, and Requeue's window of final failures.
CREATE INDEX deliveries_webhook ON deliveries (webhook_id, state, last_attempt_at);
-- The events foreign key, and Prune's "is this event still needed".
CREATE INDEX deliveries_event ON deliveries (event_id);
-- Prune's finished deliveries.
CREATE INDEX deliveries_finished ON deliveries (last_attempt_at) WHERE state <> 'pending';

-- The success and failed logs: one row per attempt. Event name, event id and
-- message id are copied in so a log page is one indexed read.
CREATE TABLE attempts (
    id              INTEGER PRIMARY KEY,
    delivery_id     INTEGER NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    webhook_id      INTEGER NOT NULL,
    event_id        TEXT    NOT NULL,
    event           TEXT    NOT NULL,
    message_id      TEXT    NOT NULL,
    attempt         INTEGER NOT NULL,
    success         INTEGER NOT NULL,
    http_status     INTEGER NOT NULL,
    duration_ms     INTEGER NOT NULL,
    error_class     TEXT    NOT NULL,
    error           TEXT    NOT NULL,
    request_headers TEXT    NOT NULL, -- JSON object
    response_body   TEXT    NOT NULL,
    next_attempt_at INTEGER,
    created_at      INTEGER NOT NULL
);
CREATE INDEX attempts_log ON attempts (webhook_id, success, created_at DESC, id DESC);
CREATE INDEX attempts_delivery ON attempts (delivery_id);
CREATE INDEX attempts_created ON attempts (created_at);
