-- Brands (the portal's operator brand and the luxury Maisons) and their stores. Every CRM and clienteling
-- row belongs to a brand; staff users name theirs (auth.users.brand_id / store_ids hold the slug and codes,
-- checked against these tables when an admin sets them).
CREATE TABLE brands (
    id              uuid        PRIMARY KEY,
    slug            text        NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$'),
    name            text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    timezone        text        NOT NULL,
    default_locale  text        NOT NULL,
    currency        char(3)     NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE stores (
    id          uuid        PRIMARY KEY,
    brand_id    uuid        NOT NULL REFERENCES brands (id),
    code        text        NOT NULL CHECK (code ~ '^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$'),
    name        text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    timezone    text        NOT NULL,
    country     char(2)     NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (brand_id, code)
);
