-- The statement `GET …/crm/profiles/{id}` runs (crm::profile::load): the merge chain, the profile with its
-- brand's slug and its identifiers, in one round trip. $1 brand id, $2 profile id.
WITH RECURSIVE chain (id, merged_into, depth) AS (
    SELECT id, merged_into, 0 FROM crm_profiles WHERE id = $2::uuid AND brand_id = $1::uuid
    UNION ALL
    SELECT p.id, p.merged_into, c.depth + 1
    FROM crm_profiles p JOIN chain c ON p.id = c.merged_into
    WHERE p.brand_id = $1::uuid AND c.depth < 100
)
SELECT p.id, b.slug AS brand, p.first_name, p.last_name, p.email, p.phone, p.birthday,
       p.locale, p.country, p.city, p.tier, p.tags, p.custom, p.activity_counts,
       p.first_activity_at, p.last_activity_at, p.lifetime_value::text AS lifetime_value,
       p.first_seen_at, p.created_at, p.updated_at,
       ids.kinds AS identifier_kinds, ids.vals AS identifier_values
FROM chain c
JOIN crm_profiles p ON p.brand_id = $1::uuid AND p.id = c.id
JOIN brands b ON b.id = p.brand_id
CROSS JOIN LATERAL (
    SELECT COALESCE(array_agg(i.kind ORDER BY i.kind, i.value), '{}') AS kinds,
           COALESCE(array_agg(i.value ORDER BY i.kind, i.value), '{}') AS vals
    FROM crm_identifiers i WHERE i.brand_id = $1::uuid AND i.profile_id = p.id
) ids
WHERE c.merged_into IS NULL
