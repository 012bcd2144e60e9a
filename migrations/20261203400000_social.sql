-- Social publishing (src/social/): the brand's connected accounts (tokens encrypted, never in clear), its
-- posts, one target per account with the step it reached, and the ledger of what each account sent.

CREATE TABLE social_accounts (
    id                 uuid        PRIMARY KEY,
    brand_id           uuid        NOT NULL REFERENCES brands (id),
    network            text        NOT NULL CHECK (network IN ('facebook', 'instagram', 'x')),
    -- The page id, IG user id or X user id.
    external_id        text        NOT NULL CHECK (external_id ~ '^[0-9]{1,30}$'),
    name               text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    status             text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'needs_reauth')),
    status_reason      text,
    -- AES-256-GCM: 12-byte nonce then ciphertext and tag; the row's id and the token's role are the AAD.
    access_token       bytea       NOT NULL,
    refresh_token      bytea,
    token_expires_at   timestamptz,
    -- The network asked us to slow down (usage headers, a rate-limit answer): nothing is sent before this.
    paused_until       timestamptz,
    -- Disconnected: the tokens are wiped, the row stays for the posts that named it.
    deleted_at         timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX social_accounts_external_key ON social_accounts (brand_id, network, external_id)
    WHERE deleted_at IS NULL;
CREATE TRIGGER social_accounts_set_updated_at BEFORE UPDATE ON social_accounts
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE social_posts (
    id           uuid        PRIMARY KEY,
    brand_id     uuid        NOT NULL REFERENCES brands (id),
    text         text        NOT NULL,
    link         text,
    media        text[]      NOT NULL DEFAULT '{}',
    publish_at   timestamptz NOT NULL,
    -- Bumped by each edit: a publish job enqueued for an earlier version finds nothing to do.
    version      integer     NOT NULL DEFAULT 1,
    created_by   uuid        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX social_posts_brand_idx ON social_posts (brand_id, id DESC);
CREATE TRIGGER social_posts_set_updated_at BEFORE UPDATE ON social_posts
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE social_post_targets (
    post_id          uuid        NOT NULL REFERENCES social_posts (id) ON DELETE CASCADE,
    account_id       uuid        NOT NULL REFERENCES social_accounts (id),
    network          text        NOT NULL,
    status           text        NOT NULL DEFAULT 'scheduled'
                     CHECK (status IN ('scheduled', 'publishing', 'published', 'failed', 'needs_reauth')),
    -- Set before the network call that creates the post; a run that finds it set looks the post up first.
    sending_at       timestamptz,
    -- Instagram: the media container made for this target (created once, published once).
    container_id     text,
    attempts         integer     NOT NULL DEFAULT 0,
    not_before       timestamptz,
    deferred_reason  text,
    network_post_id  text,
    permalink        text,
    error            text,
    published_at     timestamptz,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (post_id, account_id)
);
CREATE INDEX social_post_targets_account_idx ON social_post_targets (account_id);
CREATE TRIGGER social_post_targets_set_updated_at BEFORE UPDATE ON social_post_targets
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- One row per post an account sent (reserved with `sending_at`): our own count against the network's limits.
CREATE TABLE social_quota_ledger (
    account_id  uuid        NOT NULL REFERENCES social_accounts (id) ON DELETE CASCADE,
    post_id     uuid        NOT NULL,
    sent_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, post_id)
);
CREATE INDEX social_quota_ledger_window_idx ON social_quota_ledger (account_id, sent_at);
