-- Operational notifications (hookd.Notification): each subscription owns
-- the webhook that delivers it, and goes with it. (The transactional outbox
-- of the same migration number on PostgreSQL has no SQLite counterpart: the
-- platform's transaction is on its own database, which is not this file.)
CREATE TABLE notifications (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id INTEGER NOT NULL UNIQUE REFERENCES webhooks (id) ON DELETE CASCADE,
    kinds      TEXT    NOT NULL, -- JSON array of kinds
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
