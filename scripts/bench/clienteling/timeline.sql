-- `GET …/clienteling/clients/{id}/interactions?limit=50`, the statements the endpoint runs on one connection:
-- the client through the advisor's scope, the book's clients merged into it (none here), one page newest first
-- plus one row to know whether there is a next page. $1 brand id, $2 client id, $3 advisor (user) id, $4 the
-- advisor's stores ('{paris-1}').
SELECT c.profile_id, c.store_code, c.preferences, c.important_dates, c.notes, c.last_contacted_at, c.created_at,
       c.updated_at
FROM clienteling_clients c
WHERE c.brand_id = $1::uuid AND c.profile_id = $2::uuid
  AND (false OR c.store_code = ANY ($4::text[]) OR EXISTS (
      SELECT 1 FROM clienteling_assignments a
      WHERE a.brand_id = c.brand_id AND a.profile_id = c.profile_id AND a.advisor_id = $3::uuid
        AND a.ended_at IS NULL))
;;
WITH RECURSIVE absorbed (id, depth) AS (
    SELECT p.id, 1 FROM crm_profiles p WHERE p.brand_id = $1::uuid AND p.merged_into = $2::uuid
    UNION ALL
    SELECT p.id, a.depth + 1 FROM crm_profiles p JOIN absorbed a ON p.merged_into = a.id
    WHERE p.brand_id = $1::uuid AND a.depth < 100
)
SELECT c.profile_id FROM clienteling_clients c JOIN absorbed a ON a.id = c.profile_id
WHERE c.brand_id = $1::uuid
  AND (false OR c.store_code = ANY ($4::text[]) OR EXISTS (
      SELECT 1 FROM clienteling_assignments s
      WHERE s.brand_id = c.brand_id AND s.profile_id = c.profile_id AND s.advisor_id = $3::uuid
        AND s.ended_at IS NULL))
ORDER BY c.profile_id
;;
SELECT id, client_id, store_code AS store, advisor_id, channel, context, subject, note, metadata,
       enrichment_status, enrichment, mirror, version, occurred_at, deleted_at, created_at, updated_at
FROM clienteling_interactions
WHERE brand_id = $1::uuid AND client_id = $2::uuid AND deleted_at IS NULL
  AND (NULL::text IS NULL OR channel = NULL::text)
  AND (NULL::text IS NULL OR context = NULL::text)
  AND (NULL::timestamptz IS NULL OR (occurred_at, id) < (NULL::timestamptz, NULL::uuid))
ORDER BY occurred_at DESC, id DESC
LIMIT 51
