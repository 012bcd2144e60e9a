-- The merge ledger: everything a merge changed, enough to undo it exactly. Snapshots are `to_jsonb` of the
-- rows as they were, restored with `crm_restore_profile` (which sets every column the snapshot names).
CREATE TABLE crm_merges (
    id                  uuid        PRIMARY KEY,
    brand_id            uuid        NOT NULL REFERENCES brands (id),
    survivor_id         uuid        NOT NULL REFERENCES crm_profiles (id),
    absorbed_ids        uuid[]      NOT NULL,
    -- `manual` (POST …/crm/merges) or `resolution` (identifiers proved several profiles are one person).
    cause               text        NOT NULL CHECK (cause IN ('manual', 'resolution')),
    actor               text        NOT NULL,
    -- The survivor's row before and right after the merge, its consents before, and the absorbed
    -- profiles' rows, identifiers and consents before it (an array of {profile, identifiers, consents}).
    survivor_before     jsonb       NOT NULL,
    survivor_after      jsonb       NOT NULL,
    survivor_consents   jsonb       NOT NULL,
    absorbed_before     jsonb       NOT NULL,
    -- [{kind, value, from_profile_id}]
    identifiers_moved   jsonb       NOT NULL,
    -- [{attribute, rule, values: [{profile_id, value, at}], chosen, chosen_from}]
    attribute_decisions jsonb       NOT NULL,
    -- [{channel, purpose, values: [{profile_id, status}], chosen, changed, before, after}]
    consent_decisions   jsonb       NOT NULL,
    activities_moved    bigint      NOT NULL DEFAULT 0,
    merged_at           timestamptz NOT NULL DEFAULT now(),
    unmerged_at         timestamptz,
    unmerged_by         text
);
CREATE INDEX crm_merges_brand_idx ON crm_merges (brand_id, merged_at DESC);
-- Which merges still stand over a profile (a later one blocks unmerging an earlier one).
CREATE INDEX crm_merges_standing_idx ON crm_merges USING gin ((absorbed_ids || survivor_id))
    WHERE unmerged_at IS NULL;

-- Each activity a merge re-pointed, and from which profile: what an unmerge moves back.
CREATE TABLE crm_merge_activities (
    merge_id        uuid NOT NULL REFERENCES crm_merges (id),
    activity_id     uuid NOT NULL,
    from_profile_id uuid NOT NULL,
    PRIMARY KEY (merge_id, activity_id)
);

-- Sets every column of crm_profiles the snapshot names (but id and brand_id) on the row with the snapshot's
-- id and brand. Built from the catalogue at call time, so columns added later are restored too.
CREATE FUNCTION crm_restore_profile(snapshot jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    assignments text;
BEGIN
    SELECT string_agg(format('%I = r.%I', attname, attname), ', ' ORDER BY attnum) INTO assignments
    FROM pg_attribute
    WHERE attrelid = 'crm_profiles'::regclass AND attnum > 0 AND NOT attisdropped
      AND attname NOT IN ('id', 'brand_id') AND snapshot ? attname;
    IF assignments IS NULL THEN
        RETURN;
    END IF;
    EXECUTE format('UPDATE crm_profiles p SET %s FROM jsonb_populate_record(NULL::crm_profiles, $1) r
                    WHERE p.id = r.id AND p.brand_id = r.brand_id', assignments)
    USING snapshot;
END
$$;
