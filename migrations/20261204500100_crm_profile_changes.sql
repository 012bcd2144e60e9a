-- Merges, unmerges and attribute changes (PATCH, clienteling, resolution) re-evaluate a profile's segments
-- and scores in their own transaction; the history says which moved it.
ALTER TABLE crm_segment_history DROP CONSTRAINT crm_segment_history_reason_check;
ALTER TABLE crm_segment_history ADD CONSTRAINT crm_segment_history_reason_check
    CHECK (reason IN ('refresh', 'event', 'schedule', 'manual', 'consent', 'merge', 'unmerge', 'attributes'));

-- The merge (or the unmerge of it) that moved the row's profile: an unmerge gives the absorbed profiles back
-- the static memberships that merge took from them, and takes from the survivor those it gave.
ALTER TABLE crm_segment_history ADD COLUMN merge_id uuid;
CREATE INDEX crm_segment_history_merge_idx ON crm_segment_history (merge_id) WHERE merge_id IS NOT NULL;

ALTER TABLE crm_score_history DROP CONSTRAINT crm_score_history_cause_check;
ALTER TABLE crm_score_history ADD CONSTRAINT crm_score_history_cause_check
    CHECK (cause IN ('event', 'nightly', 'consent', 'merge', 'unmerge'));
