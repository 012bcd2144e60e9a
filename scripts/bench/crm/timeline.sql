-- `GET …/crm/profiles/{id}/activities?limit=50`: the profile (following merges), then one page newest
-- first plus one row to know whether there is a next page. $1 brand id, $2 profile id.
WITH RECURSIVE chain (id, merged_into, depth) AS (
    SELECT id, merged_into, 0 FROM crm_profiles WHERE id = $2::uuid AND brand_id = $1::uuid
    UNION ALL
    SELECT p.id, p.merged_into, c.depth + 1
    FROM crm_profiles p JOIN chain c ON p.id = c.merged_into
    WHERE p.brand_id = $1::uuid AND c.depth < 100
)
SELECT id FROM chain WHERE merged_into IS NULL
;;
SELECT id, type, occurred_at, properties, source, received_at
FROM crm_activities
WHERE brand_id = $1::uuid AND profile_id = $2::uuid
ORDER BY occurred_at DESC, id DESC
LIMIT 51
