-- One message per person (atk13): a merge after the freeze can make two recipients of a campaign one
-- person. When several recipient rows are the same person, the one handed to the send path first records
-- that person here (under a lock per campaign and person); the others are suppressed as `merged`.
ALTER TABLE crm_campaign_recipients ADD COLUMN person_id uuid;
