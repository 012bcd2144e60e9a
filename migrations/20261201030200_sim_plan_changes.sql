-- A plan change moves the service to the plan's WHMCS product (UpgradeProduct, billed by WHMCS) and the line
-- to the plan at Freebit, in one step journal like the top-ups': each step's result is recorded before the
-- next, a step sent without an answer leaves a `*_sent` marker, and a repeat reads the system back first.

CREATE TABLE sim_plan_changes
(
    id              uuid PRIMARY KEY,
    user_id         uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    request_key     text        NOT NULL,
    whmcs_client_id bigint      NOT NULL,
    service_id      bigint      NOT NULL,
    msisdn          text        NOT NULL,
    plan_code       text        NOT NULL,
    from_product_id bigint      NOT NULL,
    to_product_id   bigint      NOT NULL,
    billing_cycle   text        NOT NULL,
    effective_date  date        NOT NULL,
    status          text        NOT NULL DEFAULT 'pending'
        CONSTRAINT sim_plan_changes_status_check CHECK (status IN ('pending', 'applied', 'failed')),
    failure         text,
    action_id       bigint,
    created_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    CONSTRAINT sim_plan_changes_request_key UNIQUE (user_id, request_key)
);

CREATE TABLE sim_plan_change_steps
(
    plan_change_id uuid        NOT NULL REFERENCES sim_plan_changes (id) ON DELETE CASCADE,
    step           text        NOT NULL,
    result         jsonb       NOT NULL DEFAULT '{}'::jsonb,
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (plan_change_id, step)
);
