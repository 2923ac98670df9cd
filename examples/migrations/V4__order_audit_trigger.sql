-- A trigger body holds several statements; keel keeps BEGIN ... END whole.
-- upgrade
CREATE TABLE order_audit (
    order_id   INTEGER NOT NULL,
    changed_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    action     TEXT NOT NULL
);

CREATE TRIGGER orders_audit_insert AFTER INSERT ON orders
BEGIN
    INSERT INTO order_audit (order_id, action) VALUES (NEW.id, 'insert');
    UPDATE customers SET name = name WHERE id = NEW.customer_id;
END;

-- rollback
DROP TRIGGER orders_audit_insert;
DROP TABLE order_audit;
