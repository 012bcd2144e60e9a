-- Every event updates its profile's counters (activity_counts, first/last activity, lifetime value), none of
-- them indexed: with room left on the page such an update is HOT (no index entry written, the old version
-- pruned on the page). At the default fillfactor of 100 a freshly loaded table has no room, so most counter
-- updates moved the row and wrote an entry in each of its indexes (measured: 8,535 HOT of 48,000 updates).
-- Applies to pages written from now on (new rows, COPY loads, VACUUM FULL); existing pages are not rewritten.
ALTER TABLE crm_profiles SET (fillfactor = 85);
