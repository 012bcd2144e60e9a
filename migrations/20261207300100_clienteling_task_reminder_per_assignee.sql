-- A task's due reminder is one per assignee, not one per task: a task reassigned after it was reminded is
-- reminded to its new holder (the reassignment clears `reminded_at`), and each holder is told once.
ALTER TABLE clienteling_notifications DROP CONSTRAINT clienteling_notifications_once;
ALTER TABLE clienteling_notifications
    ADD CONSTRAINT clienteling_notifications_once UNIQUE (task_id, kind, user_id);
