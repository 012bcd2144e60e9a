-- Portal orders: the local record of a Salesforce Order, its status history and the results of each
-- provisioning step (so a retried job never repeats an external effect that already happened).

CREATE TABLE orders
(
    id                     uuid PRIMARY KEY,
    user_id                uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    salesforce_order_id    text        NOT NULL,
    status                 text        NOT NULL DEFAULT 'pending_review'
        CONSTRAINT orders_status_check
            CHECK (status IN ('pending_review', 'approved', 'provisioning', 'active', 'failed')),
    failure_reason         text,
    items                  jsonb       NOT NULL,
    activation             jsonb,
    sim                    jsonb,
    whmcs_order_id         bigint,
    service_ids            bigint[]    NOT NULL DEFAULT '{}',
    -- Set once by the first provisioning request: later deliveries of the same event enqueue nothing.
    provision_requested_at timestamptz,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT orders_salesforce_order_id_key UNIQUE (salesforce_order_id)
);

CREATE INDEX orders_user_id_created_at_idx ON orders (user_id, created_at DESC, id DESC);

CREATE TRIGGER orders_set_updated_at
    BEFORE UPDATE ON orders
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE order_events
(
    id         bigserial PRIMARY KEY,
    order_id   uuid        NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    status     text        NOT NULL,
    reason     text,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX order_events_order_id_idx ON order_events (order_id, id);

CREATE TABLE order_steps
(
    order_id   uuid        NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    step       text        NOT NULL,
    result     jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT order_steps_pkey PRIMARY KEY (order_id, step)
);
