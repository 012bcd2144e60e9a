-- Indexes for the rule language's common leaves, now that the compiled condition leaves them bare (a leaf is
-- wrapped in coalesce only under a `not`): a built-in attribute the marketers filter on (tier, country), and
-- the consent leaf (`EXISTS` over one channel × purpose and status, pulled up into a semi-join), read from
-- the index alone. Activities by (brand, type, occurred_at) have theirs (crm_activities_segment_idx).
CREATE INDEX crm_profiles_tier_idx ON crm_profiles (brand_id, tier) WHERE merged_into IS NULL;
CREATE INDEX crm_profiles_country_idx ON crm_profiles (brand_id, country) WHERE merged_into IS NULL;
CREATE INDEX crm_consents_segment_idx ON crm_consents (brand_id, channel, purpose, status)
    INCLUDE (profile_id, expires_at);

-- A consent change re-evaluates the profile's segments whose rule has a consent leaf (trigger `consent`);
-- the rules saved before that trigger existed get it here.
UPDATE crm_segments SET triggers = array_append(triggers, 'consent')
WHERE rule IS NOT NULL AND rule::text LIKE '%"consent": {%' AND NOT ('consent' = ANY (triggers));

-- Scores are recomputed on a consent change too (opt-outs are a churn signal).
ALTER TABLE crm_score_history DROP CONSTRAINT crm_score_history_cause_check;
ALTER TABLE crm_score_history ADD CONSTRAINT crm_score_history_cause_check
    CHECK (cause IN ('event', 'nightly', 'consent'));

-- A consent change moves a profile in or out of a segment at once: history reason `consent`.
ALTER TABLE crm_segment_history DROP CONSTRAINT crm_segment_history_reason_check;
ALTER TABLE crm_segment_history ADD CONSTRAINT crm_segment_history_reason_check
    CHECK (reason IN ('refresh', 'event', 'schedule', 'manual', 'consent'));
