-- Brand events (issue 18, docs/brand_events.md): a brand's events with their invitations (one row per
-- person), RSVPs, a waitlist in order and check-in. The messages themselves live in the CRM's ledger; a row
-- keeps the outcome of its invitation and of its waitlist-promotion notice.
CREATE TABLE brand_events (
    id                     uuid        PRIMARY KEY,
    brand_id               uuid        NOT NULL REFERENCES brands (id),
    name                   text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description            text        NOT NULL DEFAULT '' CHECK (length(description) <= 4000),
    -- One of the brand's stores, or a venue described in words (or both: a store's private salon).
    store_code             text,
    venue                  text        CHECK (length(venue) BETWEEN 1 AND 300),
    starts_at              timestamptz NOT NULL,
    ends_at                timestamptz NOT NULL,
    -- NULL: no limit.
    capacity               integer     CHECK (capacity BETWEEN 1 AND 100000),
    -- NULL: RSVPs close when the event starts.
    rsvp_deadline          timestamptz,
    status                 text        NOT NULL CHECK (status IN ('draft', 'open', 'closed', 'cancelled')),
    -- The events template telling a waitlisted guest a place opened (per channel: one template each).
    promotion_template_id  uuid,
    created_by             text        NOT NULL,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_at > starts_at),
    CHECK (rsvp_deadline IS NULL OR rsvp_deadline <= ends_at),
    CHECK (store_code IS NOT NULL OR venue IS NOT NULL)
);
CREATE INDEX brand_events_brand_idx ON brand_events (brand_id, starts_at, id);
CREATE TRIGGER brand_events_set_updated_at BEFORE UPDATE ON brand_events
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE brand_event_invitations (
    id                uuid        PRIMARY KEY,
    event_id          uuid        NOT NULL REFERENCES brand_events (id) ON DELETE CASCADE,
    brand_id          uuid        NOT NULL REFERENCES brands (id),
    -- The CRM profile invited (the live one at the time: merged profiles count once).
    profile_id        uuid        NOT NULL,
    source            text        NOT NULL CHECK (source IN ('segment', 'advisor')),
    segment_id        uuid,
    -- The staff member who invited (the advisor of a single invitation, the marketer of a segment's).
    invited_by        uuid,
    status            text        NOT NULL CHECK (status IN ('invited', 'confirmed', 'waitlisted', 'declined',
                                      'attended')),
    -- The waitlist's order: first waitlisted, first promoted.
    waitlisted_at     timestamptz,
    responded_at      timestamptz,
    responded_via     text        CHECK (responded_via IN ('link', 'staff')),
    checked_in_at     timestamptz,
    checked_in_by     uuid,
    -- How the invitation is messaged (NULL: not messaged, an advisor invited in person).
    channel           text,
    template_id       uuid,
    -- The RSVP link's expiry, fixed at invitation so the link (and the send path's request) never changes.
    link_expires_at   timestamptz NOT NULL,
    message_status    text        NOT NULL CHECK (message_status IN ('none', 'pending', 'sent', 'suppressed',
                                      'failed')),
    message_reason    text,
    message_id        uuid,
    -- Times promoted from the waitlist: each promotion's notice has its own send-path key.
    promotions        integer     NOT NULL DEFAULT 0,
    notice_status     text        NOT NULL DEFAULT 'none' CHECK (notice_status IN ('none', 'pending', 'sent',
                                      'suppressed', 'failed')),
    notice_reason     text,
    notice_id         uuid,
    -- The template the notice goes with, fixed at promotion so a retry sends the same request.
    notice_template_id uuid,
    -- A sending run holds the row until then, so two runs never hand the same row over at once.
    lease_until       timestamptz,
    -- Each change of the row: the CRM activity's event id carries it.
    version           integer     NOT NULL DEFAULT 1,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT brand_event_invitations_person_key UNIQUE (event_id, profile_id),
    CHECK ((status = 'waitlisted') = (waitlisted_at IS NOT NULL)),
    CHECK ((channel IS NULL) = (template_id IS NULL))
);
-- Guest pages per status, counts per status, the waitlist's head and the sending run's work.
CREATE INDEX brand_event_invitations_status_idx ON brand_event_invitations (event_id, status, id);
CREATE INDEX brand_event_invitations_waitlist_idx ON brand_event_invitations (event_id, waitlisted_at, id)
    WHERE status = 'waitlisted';
CREATE INDEX brand_event_invitations_pending_idx ON brand_event_invitations (event_id, id)
    WHERE message_status = 'pending' OR notice_status = 'pending';
CREATE INDEX brand_event_invitations_profile_idx ON brand_event_invitations (brand_id, profile_id);
CREATE TRIGGER brand_event_invitations_set_updated_at BEFORE UPDATE ON brand_event_invitations
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
