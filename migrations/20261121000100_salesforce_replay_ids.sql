-- The last processed replay id of each Salesforce platform-event channel, so a restarted subscriber resumes
-- after the last event it finished instead of losing (-1) or replaying everything retained (-2).

CREATE TABLE salesforce_replay_ids
(
    channel    text        NOT NULL CHECK (channel <> ''),
    replay_id  bigint      NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT salesforce_replay_ids_pkey PRIMARY KEY (channel)
);

CREATE TRIGGER salesforce_replay_ids_set_updated_at
    BEFORE UPDATE ON salesforce_replay_ids
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
