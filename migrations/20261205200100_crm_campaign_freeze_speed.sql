-- The campaign freeze (issue 13: < 2 s for 100k recipients) writes one recipient row per segment member in a
-- single INSERT … SELECT; profiled with EXPLAIN (ANALYZE, BUFFERS) over 100k members (docs/benchmarks.md),
-- two per-row costs bought nothing:
--
-- * The profile foreign key: one RI trigger call per row (~1–1.5 s of the ~6.5 s). Profiles are never
--   deleted: a merge marks the loser `merged_into`, erasure (issue 18) anonymises the row in place, and the
--   freeze selects the live profiles in the same statement. The campaign's foreign key stays (its delete
--   side keeps a launched campaign from losing its ledger).
-- * The full status index (~0.4 s): counts group by status and reason and read the rows anyway (the
--   primary key's campaign range), and at the freeze every row is `queued` (the due index has it) or
--   `suppressed`. Only the statuses delivery sets later are indexed, so pages of a rare outcome (`failed`,
--   `deferred`, `cancelled`, `sent` early on) stay one range scan; `queued` and `suppressed` pages read
--   the campaign's primary-key range in profile order.
ALTER TABLE crm_campaign_recipients DROP CONSTRAINT crm_campaign_recipients_profile_id_fkey;
DROP INDEX crm_campaign_recipients_status_idx;
CREATE INDEX crm_campaign_recipients_settled_idx ON crm_campaign_recipients (campaign_id, status, profile_id)
    WHERE status NOT IN ('queued', 'suppressed');
