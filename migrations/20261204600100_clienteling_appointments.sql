-- Store opening hours and appointments (issue 16). Opening hours are local wall-clock times of the store
-- (its `stores.timezone`); they are turned into instants only when read, by PostgreSQL's `AT TIME ZONE`, so
-- a day with a DST change opens at the right instant.
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE clienteling_opening_hours (
    brand_id    uuid     NOT NULL,
    store_code  text     NOT NULL,
    -- ISO weekday: 1 = Monday … 7 = Sunday.
    weekday     smallint NOT NULL CHECK (weekday BETWEEN 1 AND 7),
    opens       time     NOT NULL,
    closes      time     NOT NULL,
    CHECK (opens < closes),
    PRIMARY KEY (brand_id, store_code, weekday, opens),
    FOREIGN KEY (brand_id, store_code) REFERENCES stores (brand_id, code)
);

CREATE TABLE clienteling_closed_dates (
    brand_id    uuid NOT NULL,
    store_code  text NOT NULL,
    day         date NOT NULL,
    PRIMARY KEY (brand_id, store_code, day),
    FOREIGN KEY (brand_id, store_code) REFERENCES stores (brand_id, code)
);

-- Whether a store has opening hours set at all (a store never set answers an empty week).
CREATE TABLE clienteling_opening_hours_sets (
    brand_id    uuid        NOT NULL,
    store_code  text        NOT NULL,
    updated_by  uuid        NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (brand_id, store_code),
    FOREIGN KEY (brand_id, store_code) REFERENCES stores (brand_id, code)
);

CREATE TABLE clienteling_appointments (
    id              uuid        PRIMARY KEY,
    brand_id        uuid        NOT NULL,
    profile_id      uuid        NOT NULL,
    advisor_id      uuid        NOT NULL REFERENCES users (id),
    store_code      text        NOT NULL,
    kind            text        NOT NULL CHECK (kind IN ('in_store', 'virtual', 'phone')),
    status          text        NOT NULL DEFAULT 'booked' CHECK (status IN ('booked', 'cancelled', 'completed')),
    starts_at       timestamptz NOT NULL,
    ends_at         timestamptz NOT NULL,
    notes           text        NOT NULL DEFAULT '',
    version         integer     NOT NULL DEFAULT 1,
    interaction_id  uuid,
    booked_by       uuid        NOT NULL,
    cancel_reason   text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (starts_at < ends_at),
    FOREIGN KEY (brand_id, profile_id) REFERENCES clienteling_clients (brand_id, profile_id),
    FOREIGN KEY (brand_id, store_code) REFERENCES stores (brand_id, code),
    -- The one arbiter of double booking: two active appointments of one advisor never overlap, whatever
    -- the number of concurrent writers (a completed appointment took the advisor's time too).
    CONSTRAINT clienteling_appointments_no_double_booking EXCLUDE USING gist (
        advisor_id WITH =, tstzrange(starts_at, ends_at) WITH &&
    ) WHERE (status IN ('booked', 'completed'))
);

CREATE INDEX clienteling_appointments_advisor ON clienteling_appointments (brand_id, advisor_id, starts_at, id);
CREATE INDEX clienteling_appointments_client ON clienteling_appointments (brand_id, profile_id, starts_at, id);
CREATE INDEX clienteling_appointments_store ON clienteling_appointments (brand_id, store_code, starts_at, id);
