-- An erased client stays in the book (assignments, interactions, tasks and appointments point at the row),
-- emptied; `erased_at` marks them so nothing new is recorded about the person afterwards (409
-- `client-erased` on every write naming them).
ALTER TABLE clienteling_clients ADD COLUMN erased_at timestamptz;

-- Clients erased before this column existed: their profile says so.
UPDATE clienteling_clients c SET erased_at = p.erased_at
FROM crm_profiles p
WHERE p.id = c.profile_id AND p.brand_id = c.brand_id AND p.erased_at IS NOT NULL;
