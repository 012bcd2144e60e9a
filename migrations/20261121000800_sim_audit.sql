-- The audit trail of SIM changes a customer asked for through the portal (top-up, plan change, suspend,
-- resume): one row per attempt, whatever its outcome. Never holds secrets: the parameters are the request's
-- (quota, plan code, date), the error is our own readable text.

CREATE TABLE sim_actions
(
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id            uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    service_id         bigint      NOT NULL,
    action             text        NOT NULL
        CONSTRAINT sim_actions_action_check CHECK (action IN ('top_up', 'plan_change', 'suspend', 'resume')),
    parameters         jsonb       NOT NULL DEFAULT '{}'::jsonb,
    outcome            text        NOT NULL
        CONSTRAINT sim_actions_outcome_check CHECK (outcome IN ('succeeded', 'rejected', 'failed')),
    provider_reference text,
    error              text,
    request_id         text,
    created_at         timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX sim_actions_user_id_created_at_idx ON sim_actions (user_id, created_at DESC);
CREATE INDEX sim_actions_service_id_created_at_idx ON sim_actions (service_id, created_at DESC);
