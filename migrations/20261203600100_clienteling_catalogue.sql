-- The brands' product catalogues, synced from Salesforce `Product2` (the brand in `Brand__c`). Rows are never
-- deleted: interactions name products by SKU, so a product Salesforce retires or drops is marked inactive
-- (`inactive_reason` says which) and stays readable.
CREATE TABLE clienteling_products (
    id                  uuid        PRIMARY KEY,
    brand_id            uuid        NOT NULL REFERENCES brands (id),
    salesforce_id       text        NOT NULL,
    sku                 text        NOT NULL CHECK (length(sku) BETWEEN 1 AND 80),
    name                text        NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
    category            text,
    colour              text,
    material            text,
    description         text,
    image_url           text,
    -- The Standard Price Book's price, in hundredths of the currency (exact; the API shows a decimal string).
    price_hundredths    bigint      CHECK (price_hundredths >= 0),
    currency            text        CHECK (currency ~ '^[A-Z]{3}$'),
    active              boolean     NOT NULL,
    -- Why an inactive product is: `inactive` in Salesforce, or `missing` from it at the last sync.
    inactive_reason     text        CHECK (inactive_reason IN ('inactive', 'missing')),
    source_modified_at  timestamptz NOT NULL,
    -- What `q` matches by trigram word similarity (typos): the short fields, lower-cased.
    search_text         text        GENERATED ALWAYS AS (
        lower(sku || ' ' || name || ' ' || coalesce(category, '') || ' ' || coalesce(colour, '') || ' '
              || coalesce(material, ''))
    ) STORED,
    -- What `q` matches by full text with prefixes: name and SKU weigh most, then the attributes, then the
    -- description. The `simple` configuration: the catalogues are French, Italian and English at once.
    search_vector       tsvector    GENERATED ALWAYS AS (
        setweight(to_tsvector('simple', sku || ' ' || name), 'A')
        || setweight(to_tsvector('simple', coalesce(category, '') || ' ' || coalesce(colour, '') || ' '
                                 || coalesce(material, '')), 'B')
        || setweight(to_tsvector('simple', coalesce(description, '')), 'C')
    ) STORED,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CHECK ((price_hundredths IS NULL) = (currency IS NULL)),
    CHECK (active = (inactive_reason IS NULL)),
    UNIQUE (brand_id, sku),
    UNIQUE (brand_id, salesforce_id)
);

-- A sync ends by merging these indexes' pending lists (`gin_clean_pending_list`): a pending list of freshly
-- synced rows is scanned whole by every search, and makes the planner price the indexes above a sequential
-- scan that computes the similarity of every product.
CREATE INDEX clienteling_products_fts ON clienteling_products USING gin (search_vector);
CREATE INDEX clienteling_products_trgm ON clienteling_products USING gin (search_text gin_trgm_ops);

-- SKUs are unique per brand regardless of case; in byte order ("C") the same index serves SKU prefixes
-- (`ma-cap` finds every Capucines) and the listing without `q` in SKU order, with the SKU as its cursor.
CREATE UNIQUE INDEX clienteling_products_sku ON clienteling_products (brand_id, (lower(sku) COLLATE "C"));

-- One sync of one brand: requested by a manager, the nightly schedule or the demo seed. At most one is live
-- per brand; a request while one is live answers that one.
CREATE TABLE clienteling_catalogue_runs (
    id            uuid        PRIMARY KEY,
    brand_id      uuid        NOT NULL REFERENCES brands (id),
    brand_slug    text        NOT NULL,
    trigger       text        NOT NULL CHECK (trigger IN ('request', 'schedule', 'seed')),
    requested_by  uuid,
    status        text        NOT NULL DEFAULT 'queued'
                              CHECK (status IN ('queued', 'running', 'retrying', 'succeeded', 'failed')),
    mode          text        CHECK (mode IN ('full', 'incremental')),
    attempts      integer     NOT NULL DEFAULT 0,
    -- The watermark the run read, and the one it wrote when it succeeded.
    since         timestamptz,
    watermark     timestamptz,
    fetched       integer     NOT NULL DEFAULT 0,
    created       integer     NOT NULL DEFAULT 0,
    updated       integer     NOT NULL DEFAULT 0,
    unchanged     integer     NOT NULL DEFAULT 0,
    deactivated   integer     NOT NULL DEFAULT 0,
    skipped       integer     NOT NULL DEFAULT 0,
    -- Skipped records by reason (`missing_field`, `wrong_type`, `other_brand`, …).
    skip_reasons  jsonb       NOT NULL DEFAULT '{}',
    last_error    text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    started_at    timestamptz,
    finished_at   timestamptz
);

CREATE UNIQUE INDEX clienteling_catalogue_runs_live
    ON clienteling_catalogue_runs (brand_id) WHERE status IN ('queued', 'running', 'retrying');
CREATE INDEX clienteling_catalogue_runs_brand ON clienteling_catalogue_runs (brand_id, created_at DESC);

-- Per brand: the latest `LastModifiedDate` a successful sync took in. Absent: the next sync is a full one.
CREATE TABLE clienteling_catalogue_state (
    brand_id     uuid        PRIMARY KEY REFERENCES brands (id),
    watermark    timestamptz NOT NULL,
    last_run_id  uuid        NOT NULL REFERENCES clienteling_catalogue_runs (id),
    synced_at    timestamptz NOT NULL
);
