-- upgrade
-- Semicolons inside literals and comments do not split statements; neither does a
-- multi-line string.
INSERT INTO customers (id, email, name) VALUES
    (1, 'ada@example.com', 'Ada; Countess of Lovelace'),
    (2, 'grace@example.com', 'Grace ''Amazing'' Hopper');
INSERT INTO orders (id, customer_id, total_cents, note) VALUES
    (1, 1, 4200, 'first line;
second line');

-- rollback
DELETE FROM orders WHERE id = 1;
DELETE FROM customers WHERE id IN (1, 2);
