-- Every replica's order status streams follow order_events through one LISTEN connection per process instead
-- of polling: a new event notifies `order_events` with its order id (delivered at commit, to every replica).
CREATE OR REPLACE FUNCTION notify_order_event() RETURNS trigger
    LANGUAGE plpgsql AS
$$
BEGIN
    PERFORM pg_notify('order_events', NEW.order_id::text);
    RETURN NULL;
END;
$$;

CREATE TRIGGER order_events_notify
    AFTER INSERT ON order_events
    FOR EACH ROW EXECUTE FUNCTION notify_order_event();
