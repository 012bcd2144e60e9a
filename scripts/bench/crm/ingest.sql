-- What `POST …/crm/events` writes for a batch, as one statement in one transaction: de-duplicate on the
-- sender's event id, resolve each event's email to its profile, append the activities (time-ordered ids,
-- like UUIDv7), bump the counters. $1 brand id, $2 emails, $3 types, $4 event ids (text arrays), $5 the
-- properties (a JSON array, one per event).
WITH e AS (
    SELECT * FROM unnest($2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS e (email, type, event_id, n)
),
fresh AS (
    SELECT e.*, i.profile_id, ($5::jsonb) -> (e.n::int - 1) AS properties
    FROM e
    JOIN crm_identifiers i ON i.brand_id = $1::uuid AND i.kind = 'email' AND i.value = e.email
    WHERE NOT EXISTS (
        SELECT 1 FROM crm_activities a WHERE a.brand_id = $1::uuid AND a.event_id = e.event_id
    )
),
added AS (
    INSERT INTO crm_activities (id, brand_id, profile_id, type, occurred_at, properties, event_id, source)
    SELECT encode(overlay(uuid_send(gen_random_uuid())
                   PLACING substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
                   FROM 1 FOR 6), 'hex')::uuid,
           $1::uuid, profile_id, type, now(), properties, event_id, 'api'
    FROM fresh
    ON CONFLICT DO NOTHING
    RETURNING profile_id, type
),
counts AS (
    SELECT profile_id, type, count(*) AS n FROM added GROUP BY profile_id, type
)
UPDATE crm_profiles p
SET activity_counts = p.activity_counts || (
        SELECT jsonb_object_agg(c.type, COALESCE((p.activity_counts ->> c.type)::bigint, 0) + c.n)
        FROM counts c WHERE c.profile_id = p.id),
    first_activity_at = COALESCE(p.first_activity_at, now()),
    last_activity_at = now(),
    updated_at = now()
WHERE p.brand_id = $1::uuid AND p.id IN (SELECT profile_id FROM counts)
