-- The W3C traceparent of the span that accepted an event, when tracing is
-- on, so that its delivery attempts join that trace (hookd.Event.TraceParent).
ALTER TABLE events ADD COLUMN trace_parent TEXT NOT NULL DEFAULT '';
