-- A lifetime value is a sum of purchases (and a merge sums profiles'), each up to numeric(18, 4): the sum
-- needs room beyond one of them. Widening the precision at the same scale rewrites nothing.
ALTER TABLE crm_profiles ALTER COLUMN lifetime_value TYPE numeric(30, 4);
