-- Campaigns (issue 13 part B): a template sent to a segment's members, frozen at `send_at` into one
-- recipient row per member, then delivered through the one send path at the campaign's throttle.
CREATE TABLE crm_campaigns (
    id                uuid        PRIMARY KEY,
    brand_id          uuid        NOT NULL REFERENCES brands (id),
    name              text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    segment_id        uuid        NOT NULL REFERENCES crm_segments (id),
    channel           text        NOT NULL,
    purpose           text        NOT NULL,
    template_id       uuid        NOT NULL,
    -- The template's version pinned at launch (NULL while a draft: the current one is shown).
    template_version  integer,
    -- When the audience is frozen and sending starts; NULL: at launch.
    send_at           timestamptz,
    throttle_per_sec  double precision NOT NULL CHECK (throttle_per_sec > 0),
    retry_limit       integer     NOT NULL CHECK (retry_limit >= 0),
    status            text        NOT NULL CHECK (status IN ('draft', 'scheduled', 'sending', 'completed',
                                      'paused', 'cancelled')),
    -- Where a paused campaign resumes (`scheduled` before its freeze, `sending` after).
    paused_from       text        CHECK (paused_from IN ('scheduled', 'sending')),
    launched_at       timestamptz,
    frozen_at         timestamptz,
    completed_at      timestamptz,
    cancelled_at      timestamptz,
    created_by        text        NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'paused') = (paused_from IS NOT NULL))
);
CREATE INDEX crm_campaigns_brand_idx ON crm_campaigns (brand_id, id);

-- The frozen audience: one row per member at the freeze, with what became of its message.
CREATE TABLE crm_campaign_recipients (
    campaign_id      uuid        NOT NULL REFERENCES crm_campaigns (id),
    profile_id       uuid        NOT NULL REFERENCES crm_profiles (id),
    status           text        NOT NULL CHECK (status IN ('queued', 'deferred', 'sent', 'suppressed',
                                     'failed', 'cancelled')),
    reason           text,
    attempts         integer     NOT NULL DEFAULT 0,
    message_id       uuid,
    -- Not before this (a retry's back-off, quiet hours' end).
    next_attempt_at  timestamptz NOT NULL,
    -- A delivery run holds the row until lease_until; its token fences the outcome it writes.
    lease_token      uuid,
    lease_until      timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (campaign_id, profile_id)
);
-- Counts per status, pages per status, and the delivery's next due rows.
CREATE INDEX crm_campaign_recipients_status_idx ON crm_campaign_recipients (campaign_id, status, profile_id);
CREATE INDEX crm_campaign_recipients_due_idx ON crm_campaign_recipients (campaign_id, next_attempt_at)
    WHERE status IN ('queued', 'deferred');
