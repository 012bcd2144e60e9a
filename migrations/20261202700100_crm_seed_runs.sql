-- Each `concierge seed crm` run: what it loaded into which brand, with which seed, and the range of serial
-- numbers its synthetic emails, phones and loyalty ids carry, so a second run takes the next range and never
-- collides on an identifier's unique key.
CREATE TABLE crm_seed_runs (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    brand_id     uuid        NOT NULL REFERENCES brands (id),
    seed         bigint      NOT NULL,
    first_serial bigint      NOT NULL CHECK (first_serial >= 0),
    profiles     bigint      NOT NULL CHECK (profiles > 0),
    activities   bigint      NOT NULL CHECK (activities >= 0),
    started_at   timestamptz NOT NULL DEFAULT now(),
    -- Null while loading, or when the run failed part-way (its committed chunks stay: each is complete).
    finished_at  timestamptz
);
