-- Foundation: the updated_at trigger every table uses, the transactional outbox, and cron tick claims.

CREATE OR REPLACE FUNCTION set_updated_at() RETURNS trigger
    LANGUAGE plpgsql AS
$$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

-- Events written in the same transaction as the change they describe, delivered at least once by the
-- outbox dispatcher. Consumers de-duplicate on `id`.
CREATE TABLE outbox_events
(
    id              uuid PRIMARY KEY,
    topic           text        NOT NULL CHECK (topic <> ''),
    aggregate_type  text        NOT NULL,
    aggregate_id    text        NOT NULL,
    payload         jsonb       NOT NULL,
    status          text        NOT NULL DEFAULT 'pending'
        CONSTRAINT outbox_events_status_check CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    delivered_at    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- The dispatcher only ever scans pending rows in due order.
CREATE INDEX outbox_events_pending_idx ON outbox_events (next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX outbox_events_delivered_idx ON outbox_events (delivered_at) WHERE status = 'delivered';

CREATE TRIGGER outbox_events_set_updated_at
    BEFORE UPDATE ON outbox_events
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- One row per (schedule, tick): the primary key is what makes a tick fire once across every replica.
CREATE TABLE cron_ticks
(
    schedule   text        NOT NULL,
    tick_at    timestamptz NOT NULL,
    claimed_by text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT cron_ticks_pkey PRIMARY KEY (schedule, tick_at)
);
