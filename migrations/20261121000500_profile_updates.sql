-- A customer's profile change (PATCH /me) and how far it got in each system. Written in the same transaction
-- as the SyncProfileUpdate job, so a change that one system missed is retried until applied and never lost.
-- Per system: `pending` (not yet applied), `applied`, `failed` (rejected by the system or out of attempts),
-- `superseded` (a newer change of the same customer carries it forward), `skipped` (nothing to write there).

CREATE TABLE profile_updates
(
    id                    uuid PRIMARY KEY,
    user_id               uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    changes               jsonb       NOT NULL,
    whmcs_client_id       bigint      NOT NULL,
    salesforce_contact_id text        NOT NULL,
    whmcs_status          text        NOT NULL DEFAULT 'pending'
        CONSTRAINT profile_updates_whmcs_status_check
            CHECK (whmcs_status IN ('pending', 'applied', 'failed', 'superseded', 'skipped')),
    salesforce_status     text        NOT NULL DEFAULT 'pending'
        CONSTRAINT profile_updates_salesforce_status_check
            CHECK (salesforce_status IN ('pending', 'applied', 'failed', 'superseded', 'skipped')),
    last_error            text,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX profile_updates_user_id_created_at_idx ON profile_updates (user_id, created_at DESC);

CREATE TRIGGER profile_updates_set_updated_at
    BEFORE UPDATE ON profile_updates
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
