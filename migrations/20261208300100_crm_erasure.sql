-- Erasure (issue 18): what the CRM keeps of an erased person is anonymous, and what it must remember is
-- that some identifiers are never to identify anyone again.

-- Identifiers of erased profiles, as keyed digests only: HMAC-SHA256 under `[crm.identity] suppression_key`
-- of `brand id ‖ kind ‖ normalised value` (hex). A bare SHA-256 of an email is reversed by hashing a list of
-- addresses; without the key the digests are worthless to whoever copies the table. Resolution refuses a
-- suppressed identifier (`erased`), so a replayed event cannot recreate or re-link the person.
CREATE TABLE crm_suppressions (
    brand_id    uuid        NOT NULL REFERENCES brands (id),
    kind        text        NOT NULL,
    digest      text        NOT NULL CHECK (digest ~ '^[0-9a-f]{64}$'),
    -- The (anonymised) profile whose erasure put it here.
    profile_id  uuid        NOT NULL REFERENCES crm_profiles (id),
    erased_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (brand_id, kind, digest)
);

-- An erased profile keeps its row (activities, messages, consents and memberships point at it), emptied.
ALTER TABLE crm_profiles ADD COLUMN erased_at timestamptz;

-- A merge over an erased person: its snapshots are scrubbed, so it can no longer be undone.
ALTER TABLE crm_merges ADD COLUMN erased_at timestamptz;

ALTER TABLE crm_segment_history DROP CONSTRAINT crm_segment_history_reason_check;
ALTER TABLE crm_segment_history ADD CONSTRAINT crm_segment_history_reason_check
    CHECK (reason IN ('refresh', 'event', 'schedule', 'manual', 'consent', 'merge', 'unmerge', 'attributes',
                      'erasure'));
