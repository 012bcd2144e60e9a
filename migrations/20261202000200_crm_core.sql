-- The CRM's profile store: one profile per person per brand, its identifiers, its activities and its consent.
-- Every table carries brand_id so every query is scoped by brand in its WHERE clause, never after it.
CREATE TABLE crm_profiles (
    id                uuid           PRIMARY KEY,
    brand_id          uuid           NOT NULL REFERENCES brands (id),
    -- Set when a merge absorbed this profile: its id then resolves to the survivor.
    merged_into       uuid           REFERENCES crm_profiles (id),
    first_name        text,
    last_name         text,
    email             text,
    phone             text,
    birthday          date,
    locale            text,
    country           char(2),
    city              text,
    tier              text,
    tags              text[]         NOT NULL DEFAULT '{}',
    -- Values of the brand's declared custom attributes, by name.
    custom            jsonb          NOT NULL DEFAULT '{}',
    -- When each attribute last received a non-empty value (name → RFC 3339), for "most recent wins".
    attribute_times   jsonb          NOT NULL DEFAULT '{}',
    -- Activities by type (type → count), kept up to date with each activity.
    activity_counts   jsonb          NOT NULL DEFAULT '{}',
    first_activity_at timestamptz,
    last_activity_at  timestamptz,
    -- In the brand's currency (purchases in another currency are not added).
    lifetime_value    numeric(18, 4) NOT NULL DEFAULT 0,
    first_seen_at     timestamptz    NOT NULL DEFAULT now(),
    created_at        timestamptz    NOT NULL DEFAULT now(),
    updated_at        timestamptz    NOT NULL DEFAULT now()
);
CREATE INDEX crm_profiles_brand_idx ON crm_profiles (brand_id, id) WHERE merged_into IS NULL;
CREATE INDEX crm_profiles_merged_into_idx ON crm_profiles (merged_into) WHERE merged_into IS NOT NULL;

-- Normalised identifiers (email lower-cased, phone E.164, …); one profile per brand, kind and value.
CREATE TABLE crm_identifiers (
    brand_id    uuid        NOT NULL REFERENCES brands (id),
    kind        text        NOT NULL,
    value       text        NOT NULL,
    profile_id  uuid        NOT NULL REFERENCES crm_profiles (id),
    -- What attached it: `api`, `event`, `portal`, `merge` …
    source      text        NOT NULL,
    added_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (brand_id, kind, value)
);
CREATE INDEX crm_identifiers_profile_idx ON crm_identifiers (profile_id);

-- What a profile did, newest first per profile for the timeline.
CREATE TABLE crm_activities (
    id           uuid        PRIMARY KEY,
    brand_id     uuid        NOT NULL REFERENCES brands (id),
    profile_id   uuid        NOT NULL REFERENCES crm_profiles (id),
    type         text        NOT NULL,
    occurred_at  timestamptz NOT NULL,
    properties   jsonb       NOT NULL DEFAULT '{}',
    -- The sender's event id: a replayed event is a duplicate, per brand.
    event_id     text,
    -- Where it came from: `api`, `portal`, `orders`, `billing` …
    source       text        NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX crm_activities_timeline_idx ON crm_activities (profile_id, occurred_at DESC, id DESC);
CREATE UNIQUE INDEX crm_activities_event_idx ON crm_activities (brand_id, event_id) WHERE event_id IS NOT NULL;

-- The current consent per channel and purpose; no row means unknown.
CREATE TABLE crm_consents (
    brand_id     uuid        NOT NULL REFERENCES brands (id),
    profile_id   uuid        NOT NULL REFERENCES crm_profiles (id),
    channel      text        NOT NULL,
    purpose      text        NOT NULL,
    status       text        NOT NULL CHECK (status IN ('granted', 'denied')),
    source       text        NOT NULL,
    actor        text,
    captured_at  timestamptz NOT NULL,
    expires_at   timestamptz,
    PRIMARY KEY (profile_id, channel, purpose)
);

-- Every consent change, including those a merge or an unmerge made.
CREATE TABLE crm_consent_history (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    brand_id     uuid        NOT NULL REFERENCES brands (id),
    profile_id   uuid        NOT NULL REFERENCES crm_profiles (id),
    channel      text        NOT NULL,
    purpose      text        NOT NULL,
    status       text        NOT NULL CHECK (status IN ('granted', 'denied', 'unknown')),
    source       text        NOT NULL,
    actor        text,
    captured_at  timestamptz NOT NULL,
    expires_at   timestamptz,
    -- `set`, `merge` or `unmerge`.
    cause        text        NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX crm_consent_history_profile_idx ON crm_consent_history (profile_id, id);
