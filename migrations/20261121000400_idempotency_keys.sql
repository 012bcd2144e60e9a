-- Idempotency records for POSTs with an external effect (payments, orders, top-ups…). One row per
-- (user, Idempotency-Key): the fingerprint of the first request (method, path, SHA-256 of the body), and once
-- it has finished, its response, replayed for a repeat of the same request until the row expires (24 h).
-- A request that failed with a 5xx leaves no row behind, so the client may retry with the same key.

CREATE TABLE idempotency_keys
(
    user_id         uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key             text        NOT NULL
        CONSTRAINT idempotency_keys_key_check CHECK (length(key) BETWEEN 1 AND 255),
    -- SHA-256 of the method, the path and the SHA-256 of the body.
    fingerprint     bytea       NOT NULL
        CONSTRAINT idempotency_keys_fingerprint_check CHECK (length(fingerprint) = 32),
    request_method  text        NOT NULL,
    request_path    text        NOT NULL,
    state           text        NOT NULL DEFAULT 'in_progress'
        CONSTRAINT idempotency_keys_state_check CHECK (state IN ('in_progress', 'completed')),
    response_status smallint,
    response_body   jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL DEFAULT now() + interval '24 hours',
    CONSTRAINT idempotency_keys_pkey PRIMARY KEY (user_id, key),
    CONSTRAINT idempotency_keys_response_check CHECK (
        state = 'in_progress'
        OR (response_status BETWEEN 100 AND 599 AND response_body IS NOT NULL))
);

-- Housekeeping deletes expired rows.
CREATE INDEX idempotency_keys_expires_at_idx ON idempotency_keys (expires_at);

CREATE TRIGGER idempotency_keys_set_updated_at
    BEFORE UPDATE ON idempotency_keys
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
