-- Journeys (issue 13 part C, docs/crm/journeys.md): a draft definition edited in place, immutable published
-- versions, enrollments run by the job runner and each step an enrollment took.

CREATE TABLE crm_journeys (
    id                uuid        PRIMARY KEY,
    brand_id          uuid        NOT NULL REFERENCES brands (id),
    name              text        NOT NULL,
    draft             jsonb       NOT NULL,
    status            text        NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'active', 'paused')),
    published_version integer,
    created_by        text        NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX crm_journeys_brand_idx ON crm_journeys (brand_id, id);

CREATE TABLE crm_journey_versions (
    journey_id     uuid        NOT NULL REFERENCES crm_journeys (id) ON DELETE CASCADE,
    version        integer     NOT NULL,
    brand_id       uuid        NOT NULL REFERENCES brands (id),
    definition     jsonb       NOT NULL,
    -- Denormalised from the definition for the triggers' and exits' lookups.
    trigger_kind   text        NOT NULL CHECK (trigger_kind IN ('event', 'segment_entry')),
    trigger_key    text        NOT NULL,
    exit_on        text[]      NOT NULL DEFAULT '{}',
    published_by   text        NOT NULL,
    published_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (journey_id, version)
);
CREATE INDEX crm_journey_versions_trigger_idx ON crm_journey_versions (brand_id, trigger_kind, trigger_key);

CREATE TABLE crm_journey_enrollments (
    id           uuid        PRIMARY KEY,
    brand_id     uuid        NOT NULL REFERENCES brands (id),
    journey_id   uuid        NOT NULL REFERENCES crm_journeys (id) ON DELETE CASCADE,
    version      integer     NOT NULL,
    profile_id   uuid        NOT NULL,
    status       text        NOT NULL CHECK (status IN ('active', 'waiting', 'completed', 'exited', 'failed')),
    current_step text,
    -- How many steps were recorded: the next one's number.
    step_count   integer     NOT NULL DEFAULT 0,
    wake_at      timestamptz,
    -- What enrolled it (an activity id, an outbox event id): a trigger delivered twice enrolls once.
    trigger_ref  text        NOT NULL,
    reason       text,
    entered_at   timestamptz NOT NULL DEFAULT now(),
    ended_at     timestamptz,
    FOREIGN KEY (journey_id, version) REFERENCES crm_journey_versions (journey_id, version),
    UNIQUE (journey_id, profile_id, trigger_ref)
);
-- At most one running enrollment per journey and profile, whatever the re-entry policy.
CREATE UNIQUE INDEX crm_journey_enrollments_running_idx ON crm_journey_enrollments (journey_id, profile_id)
    WHERE status IN ('active', 'waiting');
CREATE INDEX crm_journey_enrollments_list_idx ON crm_journey_enrollments (journey_id, status, id);
CREATE INDEX crm_journey_enrollments_profile_idx ON crm_journey_enrollments (brand_id, profile_id)
    WHERE status IN ('active', 'waiting');

CREATE TABLE crm_journey_steps (
    enrollment_id uuid        NOT NULL REFERENCES crm_journey_enrollments (id) ON DELETE CASCADE,
    seq           integer     NOT NULL,
    step_id       text        NOT NULL,
    kind          text        NOT NULL,
    outcome       text        NOT NULL,
    detail        jsonb       NOT NULL DEFAULT '{}',
    at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (enrollment_id, seq)
);
