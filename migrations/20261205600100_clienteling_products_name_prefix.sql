-- A short `q` (the first letters an advisor types) is a prefix of the SKU or of the name, each a range scan of
-- a btree in byte ("C") order: `clienteling_products_sku` for SKUs, this one for names. The text arms
-- (full text with prefixes, trigrams) matched nearly the whole catalogue for one letter and ranked all of it.
CREATE INDEX clienteling_products_name ON clienteling_products (brand_id, (lower(name) COLLATE "C"));
