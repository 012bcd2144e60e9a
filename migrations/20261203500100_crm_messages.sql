-- Messages (issue 13 part A): templates with their versions, the per-message ledger of the one send path,
-- per-brand frequency caps, and the delivery receipts already applied.

-- One logical template: a channel, a purpose, and one variant (subject, body) per language with a fallback.
CREATE TABLE crm_message_templates (
    id                 uuid        PRIMARY KEY,
    brand_id           uuid        NOT NULL REFERENCES brands (id),
    name               text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    channel            text        NOT NULL,
    purpose            text        NOT NULL,
    fallback_language  text        NOT NULL,
    -- [{"language", "subject", "body"}], one per language.
    variants           jsonb       NOT NULL,
    -- Every edit is a new version; campaigns pin one (crm_message_template_versions keeps them all).
    version            integer     NOT NULL DEFAULT 1,
    created_by         text        NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX crm_message_templates_brand_idx ON crm_message_templates (brand_id, created_at, id);

-- Every version as it was saved; a deleted template's versions stay, so a pinned send still renders.
CREATE TABLE crm_message_template_versions (
    template_id        uuid        NOT NULL,
    brand_id           uuid        NOT NULL REFERENCES brands (id),
    version            integer     NOT NULL,
    name               text        NOT NULL,
    channel            text        NOT NULL,
    purpose            text        NOT NULL,
    fallback_language  text        NOT NULL,
    variants           jsonb       NOT NULL,
    created_by         text        NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (template_id, version)
);

-- The ledger: one row per logical message, written before the provider is called and settled after.
CREATE TABLE crm_messages (
    id                   uuid        PRIMARY KEY,
    brand_id             uuid        NOT NULL REFERENCES brands (id),
    profile_id           uuid        NOT NULL REFERENCES crm_profiles (id),
    -- The caller's key for the logical message; also the provider's Idempotency-Key.
    idempotency_key      text        NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 200),
    -- SHA-256 of what the caller asked for: the same key with another request is refused.
    request_digest       text        NOT NULL,
    channel              text        NOT NULL,
    purpose              text        NOT NULL,
    template_id          uuid,
    template_version     integer,
    language             text,
    -- What was (or will be) handed to the provider, so a re-send after a crash is the same request.
    address              text,
    subject              text,
    body                 text,
    status               text        NOT NULL CHECK (status IN ('reserved', 'sent', 'delivered', 'bounced',
                                         'opened', 'clicked', 'suppressed', 'deferred', 'failed')),
    reason               text,
    retryable            boolean     NOT NULL DEFAULT false,
    deferred_until       timestamptz,
    provider_message_id  text        UNIQUE,
    attempts             integer     NOT NULL DEFAULT 0,
    -- Whether the outcome's activity is on the timeline (a crash before it is repaired by the next call).
    activity_recorded    boolean     NOT NULL DEFAULT false,
    created_at           timestamptz NOT NULL DEFAULT now(),
    sent_at              timestamptz,
    updated_at           timestamptz NOT NULL DEFAULT now(),
    UNIQUE (brand_id, idempotency_key)
);
-- The frequency cap counts a profile's messages per channel and purpose in a window.
CREATE INDEX crm_messages_cap_idx ON crm_messages (profile_id, channel, purpose, created_at)
    WHERE status NOT IN ('suppressed', 'deferred', 'failed');

-- A brand's own frequency cap per purpose (the `[crm.messages.caps]` defaults apply otherwise).
CREATE TABLE crm_message_caps (
    brand_id      uuid        NOT NULL REFERENCES brands (id),
    purpose       text        NOT NULL,
    max_messages  integer     NOT NULL CHECK (max_messages >= 0),
    window_secs   integer     NOT NULL CHECK (window_secs > 0),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (brand_id, purpose)
);

-- Delivery receipts applied, by the messaging service's event id: a replayed webhook changes nothing.
CREATE TABLE crm_message_receipts (
    event_id     text        PRIMARY KEY,
    message_id   uuid        NOT NULL REFERENCES crm_messages (id),
    kind         text        NOT NULL,
    occurred_at  timestamptz NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now()
);
