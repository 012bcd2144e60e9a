-- An erasure request keeps what its later steps need (`crm::erasure::Targets`: profiles, emails, phones,
-- Salesforce Contact and WHMCS client ids, portal users), read before the CRM step deletes the identifiers
-- they come from. Personal data: cleared when the request completes, never shown by the API.
ALTER TABLE privacy_requests ADD COLUMN erasure_targets jsonb;
