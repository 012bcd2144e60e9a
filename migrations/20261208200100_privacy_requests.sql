-- Data-subject requests (SPEC §4.4 privacy): an export or an erasure of one person, its steps (one per part
-- of the export, or per system an erasure reaches, each with its receipt) and, for an export, the archive.

CREATE TABLE privacy_requests (
    id uuid PRIMARY KEY,
    brand_id uuid NOT NULL REFERENCES brands(id),
    -- The CRM profile (the live one when the request was made); NULL for a portal customer the CRM has not
    -- met yet (only the portal's parts apply then).
    profile_id uuid,
    -- The portal account whose records are in scope, when the person has one.
    portal_user_id uuid,
    kind text NOT NULL CONSTRAINT privacy_requests_kind_check CHECK (kind IN ('export', 'erasure')),
    status text NOT NULL DEFAULT 'pending'
        CONSTRAINT privacy_requests_status_check CHECK (status IN ('pending', 'running', 'completed', 'failed')),
    -- Who asked: a staff member (with the role they acted in) or the customer themself.
    requested_by_kind text NOT NULL
        CONSTRAINT privacy_requests_requester_check CHECK (requested_by_kind IN ('staff', 'customer')),
    requested_by_user uuid NOT NULL,
    requested_by_role text,
    created_at timestamptz NOT NULL DEFAULT now(),
    -- The legal deadline: a month (GDPR art. 12(3)), counted as 30 days.
    due_at timestamptz NOT NULL,
    completed_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT privacy_requests_subject_check CHECK (profile_id IS NOT NULL OR portal_user_id IS NOT NULL)
);

CREATE INDEX privacy_requests_brand_idx ON privacy_requests (brand_id, id);
-- One open request of a kind per person: a repeated POST answers the one in flight.
CREATE UNIQUE INDEX privacy_requests_open_profile_idx ON privacy_requests (brand_id, profile_id, kind)
    WHERE status IN ('pending', 'running') AND profile_id IS NOT NULL;
CREATE UNIQUE INDEX privacy_requests_open_portal_idx ON privacy_requests (portal_user_id, kind)
    WHERE status IN ('pending', 'running') AND portal_user_id IS NOT NULL;
CREATE INDEX privacy_requests_requester_idx ON privacy_requests (requested_by_user, id);

-- One step per part (export: `crm`, `clienteling`, `portal_whmcs`…) or per system (erasure: `salesforce`,
-- `whmcs`, `messaging`…). A step is retried until it completes or runs out of attempts; the receipt is what
-- the system answered (their reference and status, and when).
CREATE TABLE privacy_request_steps (
    request_id uuid NOT NULL REFERENCES privacy_requests(id) ON DELETE CASCADE,
    part text NOT NULL,
    position smallint NOT NULL,
    status text NOT NULL DEFAULT 'pending'
        CONSTRAINT privacy_request_steps_status_check CHECK (status IN ('pending', 'running', 'completed', 'failed')),
    attempts integer NOT NULL DEFAULT 0,
    last_error text,
    -- An export step's files until the archive is built (then cleared): `[{name, records, retention}]`.
    output jsonb,
    -- Records per file, kept for the manifest and the request view.
    counts jsonb,
    receipt_system text,
    receipt_reference text,
    receipt_status text,
    receipt_at timestamptz,
    completed_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (request_id, part)
);

-- The export's archive, served through a signed link until it expires (then the purge job deletes it).
CREATE TABLE privacy_archives (
    request_id uuid PRIMARY KEY REFERENCES privacy_requests(id) ON DELETE CASCADE,
    content bytea NOT NULL,
    content_type text NOT NULL,
    size_bytes bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);

CREATE INDEX privacy_archives_expiry_idx ON privacy_archives (expires_at);

CREATE TRIGGER privacy_requests_set_updated_at BEFORE UPDATE ON privacy_requests
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER privacy_request_steps_set_updated_at BEFORE UPDATE ON privacy_request_steps
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
