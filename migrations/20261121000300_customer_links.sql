-- Which WHMCS client and Salesforce Account/Contact a portal customer is. Created as `linking` at
-- registration; a job finds or creates the records in each system and fills the ids in.

CREATE TABLE customer_links
(
    user_id               uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    status                text        NOT NULL DEFAULT 'linking'
        CONSTRAINT customer_links_status_check CHECK (status IN ('linking', 'linked')),
    whmcs_client_id       bigint,
    salesforce_account_id text,
    salesforce_contact_id text,
    last_error            text,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT customer_links_whmcs_client_id_key UNIQUE (whmcs_client_id),
    CONSTRAINT customer_links_salesforce_account_id_key UNIQUE (salesforce_account_id),
    CONSTRAINT customer_links_salesforce_contact_id_key UNIQUE (salesforce_contact_id),
    CONSTRAINT customer_links_complete_check CHECK (
        status = 'linking'
        OR (whmcs_client_id IS NOT NULL AND salesforce_account_id IS NOT NULL AND salesforce_contact_id IS NOT NULL))
);

CREATE TRIGGER customer_links_set_updated_at
    BEFORE UPDATE ON customer_links
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
