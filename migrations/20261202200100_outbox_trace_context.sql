-- The W3C trace context of the transaction that recorded an event, so its delivery continues that trace and
-- the delivered message carries it on. NULL when traces were off (and for every event recorded before).
ALTER TABLE outbox_events
    ADD COLUMN traceparent text,
    ADD COLUMN tracestate text;
