-- The nightly prune deletes audit rows by age.
CREATE INDEX auth_audit_log_created_idx ON auth_audit_log (created_at);
