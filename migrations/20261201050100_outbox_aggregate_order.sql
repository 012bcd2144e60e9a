-- Events of one aggregate are delivered in the order they were recorded, by any number of dispatchers. `seq`
-- is that order: an aggregate's events are recorded under its own row lock, so sequence values (taken at
-- insert) follow commit order within an aggregate, which a UUIDv7 from several replicas' clocks need not.
ALTER TABLE outbox_events ADD COLUMN seq bigint;

CREATE SEQUENCE outbox_events_seq_seq OWNED BY outbox_events.seq;

UPDATE outbox_events e
SET seq = ordered.n
FROM (SELECT id, row_number() OVER (ORDER BY created_at, id) AS n FROM outbox_events) ordered
WHERE e.id = ordered.id;

SELECT setval('outbox_events_seq_seq', coalesce((SELECT max(seq) FROM outbox_events), 0) + 1, false);

ALTER TABLE outbox_events
    ALTER COLUMN seq SET DEFAULT nextval('outbox_events_seq_seq'),
    ALTER COLUMN seq SET NOT NULL,
    ADD CONSTRAINT outbox_events_seq_key UNIQUE (seq);

-- The head of each aggregate (its oldest undelivered event) and what follows it: a dead event stays undelivered,
-- so it keeps holding its aggregate's later events back until an operator deals with it.
CREATE INDEX outbox_events_undelivered_idx ON outbox_events (aggregate_type, aggregate_id, seq)
    WHERE status IN ('pending', 'dead');
