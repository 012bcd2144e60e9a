-- The clienteling layer over the CRM: a client IS a CRM profile of its brand (`profile_id`, no foreign key:
-- the profiles belong to the CRM, which clienteling reaches only through its published functions). What
-- clienteling adds lives here: the store whose book holds the client, preferences, important dates, notes,
-- the advisors looking after them, and a copy of the profile's searchable attributes (names, email, phone,
-- tier, tags) refreshed on every clienteling write, so the book can be searched and scoped in one query.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE clienteling_clients (
    brand_id           uuid        NOT NULL REFERENCES brands (id),
    profile_id         uuid        NOT NULL,
    store_code         text        NOT NULL,
    preferences        jsonb       NOT NULL DEFAULT '{}',
    important_dates    jsonb       NOT NULL DEFAULT '[]',
    notes              text        NOT NULL DEFAULT '',
    first_name         text,
    last_name          text,
    email              text,
    phone              text,
    tier               text,
    tags               text[]      NOT NULL DEFAULT '{}',
    -- Lower-cased names, email, phone and tags: what `q` matches, by trigram word similarity.
    search_text        text        NOT NULL DEFAULT '',
    last_contacted_at  timestamptz,
    created_by         uuid        NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (brand_id, profile_id),
    FOREIGN KEY (brand_id, store_code) REFERENCES stores (brand_id, code)
);

CREATE INDEX clienteling_clients_search ON clienteling_clients USING gin (search_text gin_trgm_ops);
CREATE INDEX clienteling_clients_store ON clienteling_clients (brand_id, store_code, profile_id DESC);
CREATE INDEX clienteling_clients_tags ON clienteling_clients USING gin (tags);

-- Who looks after a client: one primary and any secondary advisors at a time. Ended rows stay, so a
-- client's history of advisors survives reassignment.
CREATE TABLE clienteling_assignments (
    id           uuid        PRIMARY KEY,
    brand_id     uuid        NOT NULL,
    profile_id   uuid        NOT NULL,
    advisor_id   uuid        NOT NULL REFERENCES users (id),
    role         text        NOT NULL CHECK (role IN ('primary', 'secondary')),
    assigned_by  uuid        NOT NULL,
    assigned_at  timestamptz NOT NULL DEFAULT now(),
    ended_at     timestamptz,
    FOREIGN KEY (brand_id, profile_id) REFERENCES clienteling_clients (brand_id, profile_id)
);

CREATE UNIQUE INDEX clienteling_assignments_one_primary
    ON clienteling_assignments (brand_id, profile_id) WHERE role = 'primary' AND ended_at IS NULL;
CREATE UNIQUE INDEX clienteling_assignments_once
    ON clienteling_assignments (brand_id, profile_id, advisor_id) WHERE ended_at IS NULL;
CREATE INDEX clienteling_assignments_advisor
    ON clienteling_assignments (brand_id, advisor_id, profile_id DESC) WHERE ended_at IS NULL;

-- Managers granted the whole brand's book rather than their stores'.
CREATE TABLE clienteling_brand_grants (
    brand_id    uuid        NOT NULL REFERENCES brands (id),
    user_id     uuid        NOT NULL REFERENCES users (id),
    granted_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (brand_id, user_id)
);
