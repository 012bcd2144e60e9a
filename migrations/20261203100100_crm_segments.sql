-- Segments: a brand's audiences, dynamic (a rule over profiles, activities, consent, scores and other
-- segments) or static (members added by hand or CSV). Every rule change is a new version, kept.
CREATE TABLE crm_segments (
    id            uuid        PRIMARY KEY,
    brand_id      uuid        NOT NULL REFERENCES brands (id),
    slug          text        NOT NULL CHECK (slug ~ '^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$'),
    name          text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description   text,
    kind          text        NOT NULL CHECK (kind IN ('dynamic', 'static')),
    version       integer     NOT NULL DEFAULT 1,
    -- The rule as the marketer wrote it, and as validated (attribute types and segment ids resolved).
    rule          jsonb,
    compiled      jsonb,
    -- The segments the rule names (for cycle checks and dependency order).
    depends_on    uuid[]      NOT NULL DEFAULT '{}',
    -- What can change the rule's answer for a profile: `event:<type>`, `traits`, `*` (any event).
    triggers      text[]      NOT NULL DEFAULT '{}',
    -- The rule's answer changes with time alone (a window, a date operator, a consent expiry).
    time_based    boolean     NOT NULL DEFAULT false,
    refreshed_at  timestamptz,
    created_by    text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    deleted_at    timestamptz,
    CHECK ((kind = 'dynamic') = (rule IS NOT NULL))
);
CREATE UNIQUE INDEX crm_segments_slug_idx ON crm_segments (brand_id, slug) WHERE deleted_at IS NULL;
CREATE INDEX crm_segments_brand_idx ON crm_segments (brand_id, created_at) WHERE deleted_at IS NULL;

CREATE TABLE crm_segment_versions (
    segment_id  uuid        NOT NULL REFERENCES crm_segments (id),
    version     integer     NOT NULL,
    name        text        NOT NULL,
    description text,
    rule        jsonb,
    created_by  text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (segment_id, version)
);

CREATE TABLE crm_segment_members (
    segment_id  uuid        NOT NULL REFERENCES crm_segments (id),
    profile_id  uuid        NOT NULL REFERENCES crm_profiles (id),
    brand_id    uuid        NOT NULL REFERENCES brands (id),
    entered_at  timestamptz NOT NULL,
    version     integer     NOT NULL,
    PRIMARY KEY (segment_id, profile_id)
);
CREATE INDEX crm_segment_members_profile_idx ON crm_segment_members (profile_id);

-- Every entry and exit, with the rule version and why.
CREATE TABLE crm_segment_history (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    brand_id    uuid        NOT NULL REFERENCES brands (id),
    segment_id  uuid        NOT NULL REFERENCES crm_segments (id),
    profile_id  uuid        NOT NULL,
    change      text        NOT NULL CHECK (change IN ('entered', 'exited')),
    version     integer     NOT NULL,
    reason      text        NOT NULL CHECK (reason IN ('refresh', 'event', 'schedule', 'manual')),
    at          timestamptz NOT NULL
);
CREATE INDEX crm_segment_history_segment_idx ON crm_segment_history (segment_id, id);
CREATE INDEX crm_segment_history_profile_idx ON crm_segment_history (segment_id, profile_id, id);

-- Activity aggregates of a rule scan one brand's activities of one type over a window; the profile id in
-- the index lets the count be answered from it alone.
CREATE INDEX crm_activities_segment_idx ON crm_activities (brand_id, type, occurred_at) INCLUDE (profile_id);
