-- Auth announces that a session ended (revoked by logout, logout-all, a password change or reset, an admin)
-- or that a user was disabled, on the channel `auth_sessions`: `session:<id>` or `user:<id>`. Long-lived
-- responses (the order status stream) listen and end at once instead of re-checking the session on a timer.
CREATE OR REPLACE FUNCTION notify_session_ended() RETURNS trigger
    LANGUAGE plpgsql AS
$$
BEGIN
    IF TG_TABLE_NAME = 'sessions' THEN
        PERFORM pg_notify('auth_sessions', 'session:' || NEW.id::text);
    ELSE
        PERFORM pg_notify('auth_sessions', 'user:' || NEW.id::text);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER sessions_notify_ended
    AFTER UPDATE OF revoked_at ON sessions
    FOR EACH ROW WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
    EXECUTE FUNCTION notify_session_ended();

CREATE TRIGGER users_notify_disabled
    AFTER UPDATE OF disabled_at ON users
    FOR EACH ROW WHEN (OLD.disabled_at IS NULL AND NEW.disabled_at IS NOT NULL)
    EXECUTE FUNCTION notify_session_ended();
