-- Scores: engagement and churn risk per profile, each with the reasons that made it (the top contributions),
-- recomputed after every event of the profile and nightly for everyone (decay). The segment rule language
-- reads `crm_scores` with dynamic SQL: its columns are a published contract.
CREATE TABLE crm_scores (
    brand_id      uuid        NOT NULL REFERENCES brands (id),
    profile_id    uuid        NOT NULL REFERENCES crm_profiles (id),
    score         text        NOT NULL CHECK (score IN ('engagement', 'churn_risk')),
    value         smallint    NOT NULL CHECK (value BETWEEN 0 AND 100),
    -- [{"factor": "days_since_last_activity", "value": 212, "contribution": 35}, …], largest first.
    reasons       jsonb       NOT NULL DEFAULT '[]',
    -- The brand's rules version the value was computed with (0: the built-in defaults).
    rules_version int         NOT NULL,
    computed_at   timestamptz NOT NULL,
    PRIMARY KEY (brand_id, profile_id, score)
);
-- Segments over a score (`churn_risk >= 80`) scan one brand's values of one score.
CREATE INDEX crm_scores_value_idx ON crm_scores (brand_id, score, value);

-- A row each time a score's value or reasons changed, so "why did this score change" has an answer.
CREATE TABLE crm_score_history (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    brand_id      uuid        NOT NULL REFERENCES brands (id),
    profile_id    uuid        NOT NULL REFERENCES crm_profiles (id),
    score         text        NOT NULL CHECK (score IN ('engagement', 'churn_risk')),
    value         smallint    NOT NULL CHECK (value BETWEEN 0 AND 100),
    -- The value before (none for the first computation).
    previous      smallint,
    reasons       jsonb       NOT NULL,
    rules_version int         NOT NULL,
    -- `event` (after an event of the profile) or `nightly` (the decay job).
    cause         text        NOT NULL CHECK (cause IN ('event', 'nightly')),
    computed_at   timestamptz NOT NULL
);
CREATE INDEX crm_score_history_profile_idx ON crm_score_history (brand_id, profile_id, id DESC);

-- The brand's scoring rules and weights, versioned: every change is a new version, kept. No row: the defaults.
CREATE TABLE crm_score_rules (
    brand_id    uuid        NOT NULL REFERENCES brands (id),
    version     int         NOT NULL CHECK (version > 0),
    rules       jsonb       NOT NULL,
    created_by  text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (brand_id, version)
);
