-- The interaction history is append-only: the row trigger refuses UPDATE and DELETE, but TRUNCATE (or a
-- TRUNCATE … CASCADE of brands) fires no row trigger and emptied it. A statement trigger refuses it too.
CREATE TRIGGER clienteling_interaction_events_no_truncate
    BEFORE TRUNCATE ON clienteling_interaction_events
    FOR EACH STATEMENT EXECUTE FUNCTION clienteling_events_append_only();
