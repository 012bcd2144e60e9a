-- `GET …/crm/profiles?identifier=kind:value`: the identifier's profile, then what crm::profile::load runs
-- for it. $1 brand id, $2 kind, $3 value.
SELECT profile_id FROM crm_identifiers WHERE brand_id = $1::uuid AND kind = $2 AND value = $3
;;
WITH RECURSIVE chain (id, merged_into, depth) AS (
    SELECT id, merged_into, 0 FROM crm_profiles
    WHERE brand_id = $1::uuid
      AND id = (SELECT profile_id FROM crm_identifiers WHERE brand_id = $1::uuid AND kind = $2 AND value = $3)
    UNION ALL
    SELECT p.id, p.merged_into, c.depth + 1
    FROM crm_profiles p JOIN chain c ON p.id = c.merged_into
    WHERE p.brand_id = $1::uuid AND c.depth < 100
)
SELECT id FROM chain WHERE merged_into IS NULL
;;
SELECT p.id, b.slug AS brand, p.first_name, p.last_name, p.email, p.phone, p.birthday,
       p.locale, p.country, p.city, p.tier, p.tags, p.custom, p.activity_counts,
       p.first_activity_at, p.last_activity_at, p.lifetime_value::text AS lifetime_value,
       p.first_seen_at, p.created_at, p.updated_at
FROM crm_profiles p JOIN brands b ON b.id = p.brand_id
WHERE p.brand_id = $1::uuid
  AND p.id = (SELECT profile_id FROM crm_identifiers WHERE brand_id = $1::uuid AND kind = $2 AND value = $3)
;;
SELECT i.kind, i.value FROM crm_identifiers i
WHERE i.brand_id = $1::uuid
  AND i.profile_id = (SELECT profile_id FROM crm_identifiers WHERE brand_id = $1::uuid AND kind = $2 AND value = $3)
ORDER BY i.kind, i.value
