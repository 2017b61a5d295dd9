-- Prune and ClearPayloads keep the events still waiting for their fan-out:
-- each probes fan_outs by event.
CREATE INDEX fan_outs_event ON fan_outs (event_id);
