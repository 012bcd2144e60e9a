-- Clienteling tasks (follow-ups with a due time) and the advisors' outreach log (issue 16).

CREATE TABLE clienteling_tasks (
    id            uuid        PRIMARY KEY,
    brand_id      uuid        NOT NULL REFERENCES brands (id),
    profile_id    uuid        NOT NULL,
    assignee_id   uuid        NOT NULL REFERENCES users (id),
    title         text        NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    notes         text        NOT NULL DEFAULT '',
    due_at        timestamptz NOT NULL,
    priority      text        NOT NULL DEFAULT 'normal' CHECK (priority IN ('low', 'normal', 'high')),
    source        text        NOT NULL DEFAULT 'manual' CHECK (source IN ('manual', 'journey', 'system')),
    -- What made a journey's or the system's task (`journey:{enrollment}:{step}`): one task per key, so a
    -- step run twice creates one task.
    source_key    text,
    status        text        NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done', 'cancelled')),
    created_by    uuid,
    -- Set by the reminder job when the due time passed (and its notification recorded).
    reminded_at   timestamptz,
    completed_at  timestamptz,
    cancelled_at  timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (brand_id, profile_id) REFERENCES clienteling_clients (brand_id, profile_id),
    CONSTRAINT clienteling_tasks_source_key UNIQUE (brand_id, source_key)
);

CREATE INDEX clienteling_tasks_assignee ON clienteling_tasks (brand_id, assignee_id, due_at) WHERE status = 'open';
CREATE INDEX clienteling_tasks_client ON clienteling_tasks (brand_id, profile_id, created_at DESC, id DESC);
-- The reminder job's scan: open tasks past due not yet reminded.
CREATE INDEX clienteling_tasks_to_remind ON clienteling_tasks (due_at) WHERE status = 'open' AND reminded_at IS NULL;

CREATE TRIGGER clienteling_tasks_set_updated_at
    BEFORE UPDATE ON clienteling_tasks
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- What the advisor is told (a task fell due); one per task and kind.
CREATE TABLE clienteling_notifications (
    id          uuid        PRIMARY KEY,
    brand_id    uuid        NOT NULL REFERENCES brands (id),
    user_id     uuid        NOT NULL REFERENCES users (id),
    kind        text        NOT NULL CHECK (kind IN ('task_due')),
    task_id     uuid        NOT NULL REFERENCES clienteling_tasks (id),
    payload     jsonb       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    read_at     timestamptz,
    CONSTRAINT clienteling_notifications_once UNIQUE (task_id, kind)
);

CREATE INDEX clienteling_notifications_user ON clienteling_notifications (brand_id, user_id, created_at DESC);

-- Every outreach an advisor asked for: sent (with the send path's message and the interaction logged once
-- for it) or refused (consent, the cap). The interaction is keyed by the message, so a retry logs none.
CREATE TABLE clienteling_outreach (
    id              uuid        PRIMARY KEY,
    brand_id        uuid        NOT NULL REFERENCES brands (id),
    profile_id      uuid        NOT NULL,
    advisor_id      uuid        NOT NULL REFERENCES users (id),
    channel         text        NOT NULL,
    template_id     uuid,
    status          text        NOT NULL CHECK (status IN ('sent', 'suppressed')),
    reason          text,
    message_id      uuid,
    interaction_id  uuid,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT clienteling_outreach_message UNIQUE (message_id)
);

CREATE INDEX clienteling_outreach_advisor ON clienteling_outreach (brand_id, advisor_id, created_at);
