-- Proof before linking: an account proves control of its email (a single-use, expiring link whose token is
-- stored only as a hash) before it is linked to any WHMCS client or Salesforce contact.

ALTER TABLE users ADD COLUMN email_verified_at timestamptz;

-- Accounts that exist today were made before verification existed. They are kept usable (each was linked or is
-- being linked already); every account created from now on starts unverified.
UPDATE users SET email_verified_at = created_at;

CREATE TABLE email_verification_tokens
(
    id         uuid PRIMARY KEY,
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The address the link was sent to: the link proves this address, not whatever the account has later.
    email      text        NOT NULL,
    -- SHA-256 of the token; the token itself is never stored.
    token_hash bytea       NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT email_verification_tokens_token_hash_key UNIQUE (token_hash)
);

CREATE INDEX email_verification_tokens_user_idx ON email_verification_tokens (user_id) WHERE used_at IS NULL;

-- "Someone tried to register with your address": one row per attempt, sent at most once per interval.
CREATE TABLE registration_notices
(
    id         uuid PRIMARY KEY,
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    sent_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX registration_notices_user_idx ON registration_notices (user_id, sent_at DESC);

-- A customer is `unverified` (no linking at all) until their email is verified, then `linking`, then `linked`.
ALTER TABLE customer_links
    DROP CONSTRAINT customer_links_status_check,
    ADD CONSTRAINT customer_links_status_check CHECK (status IN ('unverified', 'linking', 'linked')),
    DROP CONSTRAINT customer_links_complete_check,
    ADD CONSTRAINT customer_links_complete_check CHECK (
        status IN ('unverified', 'linking')
        OR (whmcs_client_id IS NOT NULL AND salesforce_account_id IS NOT NULL AND salesforce_contact_id IS NOT NULL));
