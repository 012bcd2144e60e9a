-- The case comments a customer wrote through the portal. Salesforce attributes every API write to the
-- integration user, so it cannot tell a customer's comment from one support wrote with the same user; this
-- table is how the portal shows "you" or "support" as a comment's author.

CREATE TABLE support_comments
(
    comment_id text PRIMARY KEY,
    case_id    text        NOT NULL,
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX support_comments_case_id_idx ON support_comments (case_id);
