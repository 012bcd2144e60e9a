-- Interactions, event-sourced: each interaction is a stream of events in an append-only table, and its
-- current state a projection written in the same transaction as each event.
CREATE TABLE clienteling_interaction_events (
    brand_id        uuid        NOT NULL REFERENCES brands (id),
    stream_id       uuid        NOT NULL,
    version         integer     NOT NULL CHECK (version >= 1),
    type            text        NOT NULL CHECK (type IN
                        ('created', 'updated', 'enriched', 'enrichment_failed', 'mirrored', 'deleted')),
    schema_version  smallint    NOT NULL,
    payload         jsonb       NOT NULL,
    actor           text        NOT NULL,
    request_id      text,
    recorded_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (stream_id, version)
);

CREATE FUNCTION clienteling_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'clienteling_interaction_events is append-only';
END;
$$;

CREATE TRIGGER clienteling_interaction_events_append_only
    BEFORE UPDATE OR DELETE ON clienteling_interaction_events
    FOR EACH ROW EXECUTE FUNCTION clienteling_events_append_only();

CREATE TABLE clienteling_interactions (
    id                 uuid        PRIMARY KEY,
    brand_id           uuid        NOT NULL,
    client_id          uuid        NOT NULL,
    store_code         text        NOT NULL,
    advisor_id         uuid        NOT NULL,
    channel            text        NOT NULL,
    context            text        NOT NULL,
    subject            text,
    note               text,
    metadata           jsonb       NOT NULL,
    -- pending (the job will look things up), not_needed, enriched, failed.
    enrichment_status  text        NOT NULL,
    enrichment         jsonb,
    mirror             jsonb,
    version            integer     NOT NULL,
    occurred_at        timestamptz NOT NULL,
    deleted_at         timestamptz,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    FOREIGN KEY (brand_id, client_id) REFERENCES clienteling_clients (brand_id, profile_id)
);

CREATE INDEX clienteling_interactions_timeline
    ON clienteling_interactions (brand_id, client_id, occurred_at DESC, id DESC) WHERE deleted_at IS NULL;
