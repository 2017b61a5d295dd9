-- A finished delivery moves from the queue's partition to the finished
-- ones (0016): an insert there, which checked its foreign keys again and
-- locked its event's and webhook's rows FOR KEY SHARE, ten deliveries of
-- one event sharing the lock at a fan-out of ten. Finished deliveries are
-- history, read by id and pruned by day: the keys now hold on the queue
-- only, where a delivery is made and worked. A webhook's deletion drops its
-- queued deliveries, as before; its finished ones go with their day.
ALTER TABLE deliveries DROP CONSTRAINT deliveries_event_id_fkey;
ALTER TABLE deliveries DROP CONSTRAINT deliveries_webhook_id_fkey;
ALTER TABLE deliveries_queue ADD CONSTRAINT deliveries_queue_event_id_fkey
    FOREIGN KEY (event_id) REFERENCES events (id);
ALTER TABLE deliveries_queue ADD CONSTRAINT deliveries_queue_webhook_id_fkey
    FOREIGN KEY (webhook_id) REFERENCES webhooks (id) ON DELETE CASCADE;
