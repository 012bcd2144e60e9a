-- Products a sync could not take in because another product of the brand held their SKU (`duplicate_sku`),
-- read again by id at the start of every later run until they get in. Without this a conflict that spans two
-- runs was lost: the holder released the SKU in a later run, but the refused product, not modified again, lay
-- behind the watermark (and its five-minute overlap) and was never read again.
CREATE TABLE clienteling_catalogue_deferred (
    brand_id       uuid        NOT NULL REFERENCES brands (id),
    salesforce_id  text        NOT NULL,
    sku            text        NOT NULL,
    -- The run that last refused it, and since when it waits.
    run_id         uuid        NOT NULL REFERENCES clienteling_catalogue_runs (id),
    deferred_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (brand_id, salesforce_id)
);
