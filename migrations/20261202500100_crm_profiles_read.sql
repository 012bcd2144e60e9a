-- Profile search (`GET …/crm/profiles?q=&tag=`): case-insensitive prefix look-ups per brand on names, email and
-- phone, and tag containment. Partial on live profiles: merged-away ones never appear in a search.
-- `text_pattern_ops` so `LIKE 'prefix%'` uses the btree whatever the database's collation.
CREATE INDEX crm_profiles_first_name_prefix_idx
    ON crm_profiles (brand_id, lower(first_name) text_pattern_ops) WHERE merged_into IS NULL;
CREATE INDEX crm_profiles_last_name_prefix_idx
    ON crm_profiles (brand_id, lower(last_name) text_pattern_ops) WHERE merged_into IS NULL;
-- The email attribute is stored lower-cased.
CREATE INDEX crm_profiles_email_prefix_idx
    ON crm_profiles (brand_id, email text_pattern_ops) WHERE merged_into IS NULL;
CREATE INDEX crm_profiles_phone_prefix_idx
    ON crm_profiles (brand_id, phone text_pattern_ops) WHERE merged_into IS NULL;
-- GIN cannot hold brand_id without btree_gin; the planner ANDs it with the brand's btree.
CREATE INDEX crm_profiles_tags_idx ON crm_profiles USING gin (tags) WHERE merged_into IS NULL;

-- The custom attributes a brand declares; a profile's `custom` holds values of these names only.
CREATE TABLE crm_attribute_definitions (
    brand_id     uuid        NOT NULL REFERENCES brands (id),
    name         text        NOT NULL,
    type         text        NOT NULL
        CHECK (type IN ('string', 'number', 'boolean', 'date', 'datetime', 'string_list')),
    -- For `string` and `string_list`: the only values allowed, when set.
    enum_values  text[],
    description  text,
    created_by   text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (brand_id, name)
);

