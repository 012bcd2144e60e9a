-- An attempt at a profile update (the request's own, or the retry job's) claims the row until this time, so two
-- attempts never write the same change to WHMCS or Salesforce at once. A lease, not a lock: no database
-- connection is held while the providers are called, and a crashed attempt's claim simply runs out.
ALTER TABLE profile_updates ADD COLUMN attempt_until timestamptz;
