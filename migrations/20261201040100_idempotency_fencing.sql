-- Fenced idempotency claims. The request holding a key proves it with `claim_token` on every write (a holder
-- that was taken over cannot complete or release the new holder's claim) and refreshes `heartbeat_at` while
-- it works; only a claim whose heartbeat stopped is taken over. `effect_id` names the external effect the
-- key stands for (e.g. the portal order id sent to Salesforce as its external id); it survives a takeover, so
-- the next holder reconciles with what the previous one may have created. Once `effect_started`, a 5xx no
-- longer deletes the row: it is released (heartbeat in the past) for a retry to resume and reconcile.
ALTER TABLE idempotency_keys
    ADD COLUMN claim_token    uuid,
    ADD COLUMN heartbeat_at   timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN effect_id      uuid        NOT NULL DEFAULT gen_random_uuid(),
    ADD COLUMN effect_started boolean     NOT NULL DEFAULT false;
