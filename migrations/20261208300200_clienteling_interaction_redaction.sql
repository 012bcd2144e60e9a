-- Erasure of a client (issue 18): an interaction's stream is redacted by APPENDING a `redacted` event. The
-- stream's history stays whole (every version, type, actor and time), and the events before the redaction
-- have their payloads replaced by their redacted form, so that replaying the stream yields the redacted
-- state and no personal data stays readable (the history endpoint shows the payloads).
ALTER TABLE clienteling_interaction_events DROP CONSTRAINT clienteling_interaction_events_type_check;
ALTER TABLE clienteling_interaction_events ADD CONSTRAINT clienteling_interaction_events_type_check
    CHECK (type IN ('created', 'updated', 'enriched', 'enrichment_failed', 'mirrored', 'deleted', 'redacted'));

-- Still append-only, with one exception: the payload of an event that a later `redacted` event of its
-- stream follows may be replaced (nothing else of the row). DELETE and TRUNCATE stay refused.
CREATE FUNCTION clienteling_events_redact_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND NEW.brand_id = OLD.brand_id AND NEW.stream_id = OLD.stream_id AND NEW.version = OLD.version
       AND NEW.type = OLD.type AND NEW.schema_version = OLD.schema_version AND NEW.actor = OLD.actor
       AND NEW.request_id IS NOT DISTINCT FROM OLD.request_id AND NEW.recorded_at = OLD.recorded_at
       AND OLD.type <> 'redacted'
       AND EXISTS (SELECT 1 FROM clienteling_interaction_events r
                   WHERE r.stream_id = OLD.stream_id AND r.type = 'redacted' AND r.version > OLD.version)
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'clienteling_interaction_events is append-only';
END;
$$;
DROP TRIGGER clienteling_interaction_events_append_only ON clienteling_interaction_events;
CREATE TRIGGER clienteling_interaction_events_append_only
    BEFORE UPDATE OR DELETE ON clienteling_interaction_events
    FOR EACH ROW EXECUTE FUNCTION clienteling_events_redact_only();
