-- Auth: users (customers and staff), login sessions (one refresh-token family each), refresh tokens
-- (hashes only), password reset tokens (hashes only) and the audit log of every auth event.

CREATE TABLE users
(
    id                  uuid PRIMARY KEY,
    -- Lower-cased and trimmed by the application; unique case-insensitively through this column.
    email               text        NOT NULL,
    password_hash       text        NOT NULL,
    first_name          text        NOT NULL,
    last_name           text        NOT NULL,
    kind                text        NOT NULL CONSTRAINT users_kind_check CHECK (kind IN ('customer', 'staff')),
    roles               text[]      NOT NULL DEFAULT '{}',
    brand_id            text,
    store_ids           text[]      NOT NULL DEFAULT '{}',
    disabled_at         timestamptz,
    password_changed_at timestamptz NOT NULL DEFAULT now(),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_email_key UNIQUE (email),
    CONSTRAINT users_roles_check CHECK (roles <@ ARRAY ['customer', 'client_advisor', 'manager', 'marketer', 'admin']::text[])
);

CREATE TRIGGER users_set_updated_at
    BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- A login. Its row is locked while one of its refresh tokens is rotated, which serialises concurrent refreshes.
CREATE TABLE sessions
(
    id                uuid PRIMARY KEY,
    user_id           uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    current_token_id  uuid        NOT NULL,
    ip                text,
    user_agent        text,
    last_used_at      timestamptz NOT NULL DEFAULT now(),
    expires_at        timestamptz NOT NULL,
    revoked_at        timestamptz,
    revoked_reason    text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX sessions_user_active_idx ON sessions (user_id) WHERE revoked_at IS NULL;

CREATE TRIGGER sessions_set_updated_at
    BEFORE UPDATE ON sessions
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE refresh_tokens
(
    id          uuid PRIMARY KEY,
    session_id  uuid        NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    -- SHA-256 of the token; the token itself is never stored.
    token_hash  bytea       NOT NULL,
    parent_id   uuid REFERENCES refresh_tokens (id) ON DELETE SET NULL,
    -- Set when the token was used and replaced by a child.
    rotated_at  timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT refresh_tokens_token_hash_key UNIQUE (token_hash)
);

CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);

CREATE TABLE password_reset_tokens
(
    id         uuid PRIMARY KEY,
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash bytea       NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT password_reset_tokens_token_hash_key UNIQUE (token_hash)
);

-- Never holds passwords or tokens: events, who, from where, and non-secret details.
CREATE TABLE auth_audit_log
(
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event      text        NOT NULL,
    user_id    uuid,
    actor_id   uuid,
    session_id uuid,
    ip         text,
    user_agent text,
    details    jsonb       NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX auth_audit_log_user_idx ON auth_audit_log (user_id, created_at DESC);
