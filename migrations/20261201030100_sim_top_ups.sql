-- A SIM top-up is paid for before the network adds the data: one row per top-up (its price, the line, the
-- outcome) and a step journal like order provisioning's (`order_steps`): each external step's result is
-- recorded before the next starts, and a step sent without an answer leaves a `*_sent` marker, so a repeat
-- (a retry, another worker after a crash) reconciles with WHMCS or Freebit instead of charging or adding twice.

CREATE TABLE sim_top_ups
(
    id                uuid PRIMARY KEY,
    user_id           uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The request's Idempotency-Key: a repeat of the request finds its top-up again.
    request_key       text        NOT NULL,
    whmcs_client_id   bigint      NOT NULL,
    service_id        bigint      NOT NULL,
    msisdn            text        NOT NULL,
    quota_mb          integer     NOT NULL CONSTRAINT sim_top_ups_quota_check CHECK (quota_mb > 0),
    amount_hundredths bigint      NOT NULL CONSTRAINT sim_top_ups_amount_check CHECK (amount_hundredths >= 0),
    currency          text        NOT NULL,
    -- The calendar month (UTC, its first day) the monthly cap counts it in.
    month             date        NOT NULL,
    status            text        NOT NULL DEFAULT 'pending'
        CONSTRAINT sim_top_ups_status_check CHECK (status IN ('pending', 'applied', 'declined', 'failed')),
    failure           text,
    action_id         bigint,
    created_at        timestamptz NOT NULL DEFAULT now(),
    finished_at       timestamptz,
    CONSTRAINT sim_top_ups_request_key UNIQUE (user_id, request_key)
);

CREATE INDEX sim_top_ups_service_month_idx ON sim_top_ups (service_id, month);

CREATE TABLE sim_top_up_steps
(
    top_up_id   uuid        NOT NULL REFERENCES sim_top_ups (id) ON DELETE CASCADE,
    step        text        NOT NULL,
    result      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (top_up_id, step)
);
